// Live updates: one websocket to /ws/events/ per page. Each message becomes an "engine-changed"
// event on <body> (fragments refresh with hx-trigger="engine-changed from:body"); panel actions
// also show a toast ("alice stopped web"). Reconnects with backoff; explains refusals.
(() => {
  const REFUSED = {
    4401: "Live updates stopped: your session has ended. Log in again.",
    4403: "Live updates are off: your account has no role. Ask an administrator for one.",
  };
  const ROLE_CHANGED = 4000;
  const LAYER_DOWN = 4503; // Redis is down: no live updates for now, keep retrying
  const DEBOUNCE_MS = 150;
  let delay = 1000;
  let pending = null;
  let timer = null;
  const seen = [];

  function toastArea() {
    let area = document.querySelector(".toast-area");
    if (!area) {
      area = document.createElement("div");
      area.className = "toast-area";
      area.setAttribute("aria-live", "polite");
      // in the page's flow under the top bar: a toast pushes the page down, never covers a button
      const messages = document.getElementById("messages");
      if (messages) messages.prepend(area); else document.body.prepend(area);
    }
    return area;
  }

  function toast(text, kind) {
    const el = document.createElement("div");
    el.className = "toast" + (kind ? " " + kind : "");
    el.setAttribute("role", "status");
    el.textContent = text;
    toastArea().appendChild(el);
    setTimeout(() => el.remove(), kind === "error" ? 15000 : 6000);
  }

  // The engine-down banner: shown while the events listener says the engine is unreachable (or a
  // fragment refresh answers 503), cleared when it reconnects; the page's fragments then refresh.
  function banner(text) {
    let el = document.querySelector(".engine-banner");
    if (!text) {
      if (el) el.remove();
      document.body.dataset.engine = "up";
      return;
    }
    if (!el) {
      el = document.createElement("div");
      el.className = "engine-banner notice error";
      el.setAttribute("role", "alert");
      document.body.prepend(el);
    }
    el.textContent = text;
    document.body.dataset.engine = "down";
  }

  function engineState(event) {
    if (event.type !== "engine") return;
    if (event.action === "unreachable") {
      banner(`The Docker engine is down: ${event.error || "it cannot be reached"}. What you see may be out of date; this clears by itself when it returns.`);
    } else if (event.action === "reconnected") {
      banner("");
    }
  }

  document.body.addEventListener("htmx:beforeSwap", (e) => {
    // htmx leaves error answers unswapped: a 503 means the engine is down, so say so.
    if (e.detail.xhr.status === 503) {
      banner("The Docker engine is down: the page could not be refreshed. This clears by itself when it returns.");
    } else if (e.detail.xhr.status === 200 && document.body.dataset.engine === "down" && document.body.dataset.live !== "on") {
      banner("");
    }
  });

  // "Live updates are off" while the channel layer is down; gone once a socket works again.
  function liveNotice(text) {
    let el = document.querySelector(".live-notice");
    if (!text) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement("div");
      el.className = "live-notice notice warn";
      el.setAttribute("role", "status");
      document.body.prepend(el);
    }
    el.textContent = text + " Retrying; reload to see changes meanwhile.";
  }

  function changed(event) {
    // Several engine events come at once (kill, die, stop): refresh once, soon after the first.
    pending = event;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      document.body.dispatchEvent(new CustomEvent("engine-changed", { detail: pending }));
    }, DEBOUNCE_MS);
  }

  function duplicate(event) {
    if (!event.key) return false;
    if (seen.includes(event.key)) return true;
    seen.push(event.key);
    if (seen.length > 100) seen.shift();
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
    socket.addEventListener("open", () => { delay = 1000; document.body.dataset.live = "on"; });
    // a socket that stays open works: live updates are back
    socket.addEventListener("open", () => setTimeout(() => { if (socket.readyState === WebSocket.OPEN) liveNotice(""); }, 2000));
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (duplicate(event)) return;
      if (event.kind === "live" && event.action === "unavailable") { liveNotice(event.message); return; }
      if (event.kind === "panel" && event.text) toast(event.text);
      engineState(event);
      changed(event);
    });
    socket.addEventListener("close", (close) => {
      document.body.dataset.live = "off";
      if (REFUSED[close.code]) {
        toast(REFUSED[close.code], "error");
        return; // reconnecting cannot help
      }
      if (close.code === LAYER_DOWN) document.body.dataset.live = "degraded";
      if (close.code === ROLE_CHANGED) {
        toast("Your role has changed: reload the page to see what you may do now.");
        delay = 0;
      }
      setTimeout(connect, delay + Math.random() * 500);
      delay = Math.min(Math.max(delay, 1000) * 2, 30000);
    });
  }

  if (window.WebSocket) connect();
})();
