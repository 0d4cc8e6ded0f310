// The in-browser terminal: xterm.js on a websocket (protocol in containers/terminal.py).
// Output arrives as binary frames written as bytes, so xterm.js decodes UTF-8 across frames;
// processed bytes are acknowledged so the server pauses a flood instead of burying the page.
(() => {
  "use strict";
  const box = document.getElementById("terminal");
  if (!box) return;
  const statusLine = document.getElementById("terminal-status");
  const reconnectButton = document.getElementById("terminal-reconnect");
  const ACK_EVERY = 32 * 1024;
  const encoder = new TextEncoder();
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
    fontSize: 14,
    // At line height 1, DejaVu Sans Mono's underscore falls below the cell and is clipped:
    // "under_score" read "under score". 1.15 keeps it inside.
    lineHeight: 1.15,
    scrollback: 5000,
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  window.term = term; // for tests and the curious
  let ws = null;
  let engineTimer = null;
  let waitingForEngine = false;

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "term-status" + (kind ? " " + kind : "");
  }

  function fill() {
    const top = box.getBoundingClientRect().top + window.scrollY;
    box.style.height = Math.max(240, window.innerHeight - top - 16) + "px";
    fit.fit();
  }

  function send(data) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(data);
  }

  function explain(event, ended) {
    if (event.code === 4401) {
      say(gettext("Closed: you are not logged in any more. Log in again, then reconnect."), "error");
    } else if (event.code === 4403) {
      say(gettext("Closed: your role does not allow terminals; the operator or admin role is needed."), "error");
    } else if (!ended) {
      say(interpolate(gettext("The connection closed (code %s). Reconnect to open a new session."), [event.code]), "error");
    }
    if (!waitingForEngine) reconnectButton.hidden = false;
  }

  // The engine went away with the session: ask /healthz every 2 s, and offer a new session once
  // the engine answers again.
  function waitForEngine(message) {
    say(message + " " + gettext("Waiting for the engine to come back…"), "warn");
    waitingForEngine = true;
    reconnectButton.hidden = true;
    const poll = async () => {
      try {
        const answer = await fetch("/healthz", { credentials: "same-origin", cache: "no-store" });
        const body = await answer.json();
        if (body.engine && body.engine.ok) {
          waitingForEngine = false;
          say(gettext("The engine is back. Reconnect to open a new session."), "ok");
          reconnectButton.hidden = false;
          return;
        }
      } catch (e) {
        // still down, or the panel itself restarting
      }
      engineTimer = setTimeout(poll, 2000);
    };
    engineTimer = setTimeout(poll, 2000);
  }

  function connect() {
    clearTimeout(engineTimer);
    waitingForEngine = false;
    fill();
    term.reset();
    reconnectButton.hidden = true;
    say(gettext("Connecting…"));
    const url = new URL(box.dataset.ws, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("cols", term.cols);
    url.searchParams.set("rows", term.rows);
    const sock = new WebSocket(url);
    sock.binaryType = "arraybuffer";
    let ended = false;
    let processed = 0;
    sock.onopen = () => {
      if (box.dataset.mode === "exec") {
        // exec's options go in the first frame, not the URL (which lands in access logs)
        const { cmd, user, workdir } = box.dataset;
        sock.send(JSON.stringify({ type: "open", cmd, user, workdir, cols: term.cols, rows: term.rows }));
      }
      say(box.dataset.mode === "attach" ? gettext("Attached. Ctrl-P Ctrl-Q detaches.") : gettext("Connected."), "ok");
      term.focus();
    };
    sock.onmessage = (event) => {
      if (typeof event.data === "string") {
        const msg = JSON.parse(event.data);
        ended = true;
        if (msg.engine === "lost") return waitForEngine(msg.message);
        if (msg.type === "error") say(msg.message, "error");
        else if (msg.type === "exit") say(msg.message || interpolate(gettext("The process exited with code %s."), [msg.code]), msg.code === 0 ? "ok" : "warn");
        else if (msg.type === "detached") say(msg.message, "ok");
        reconnectButton.hidden = false;
        return;
      }
      const chunk = new Uint8Array(event.data);
      term.write(chunk, () => {
        processed += chunk.length;
        if (processed >= ACK_EVERY && sock.readyState === WebSocket.OPEN) {
          sock.send(JSON.stringify({ type: "ack", bytes: processed }));
          processed = 0;
        }
      });
    };
    sock.onclose = (event) => explain(event, ended);
    ws = sock;
  }

  term.onData((data) => send(encoder.encode(data)));
  term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => send(JSON.stringify({ type: "resize", cols, rows })));
  window.addEventListener("resize", fill);
  reconnectButton.addEventListener("click", connect);
  connect();
})();
