// Live container logs: a websocket of line batches, rendered with ANSI colours into a bounded list.
// Log text is only ever put into the page as text nodes (never innerHTML).
(function () {
  "use strict";

  const MAX_LINES = 5000; // lines kept on the page; older ones are removed and counted

  // --- ANSI SGR -> spans -------------------------------------------------------------------
  // CSI ... m sets colours; other escape sequences (cursor moves, OSC titles) are removed.
  const ESCAPES = /\x1b\[([0-9;:]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;
  const BASIC = ["#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
    "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec"];

  function color256(n) {
    if (n < 16) return BASIC[n];
    if (n < 232) {
      n -= 16;
      const level = (v) => (v === 0 ? 0 : 55 + v * 40);
      return `rgb(${level(Math.floor(n / 36))},${level(Math.floor(n / 6) % 6)},${level(n % 6)})`;
    }
    const g = 8 + (n - 232) * 10;
    return `rgb(${g},${g},${g})`;
  }

  function byte(v) {
    const n = parseInt(v, 10);
    return Number.isFinite(n) ? Math.max(0, Math.min(255, n)) : 0;
  }

  function applySgr(state, params) {
    const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : parseInt(p, 10)));
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) { Object.assign(state, { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false }); }
      else if (c === 1) state.bold = true;
      else if (c === 2) state.dim = true;
      else if (c === 3) state.italic = true;
      else if (c === 4) state.underline = true;
      else if (c === 7) state.inverse = true;
      else if (c === 22) { state.bold = false; state.dim = false; }
      else if (c === 23) state.italic = false;
      else if (c === 24) state.underline = false;
      else if (c === 27) state.inverse = false;
      else if (c >= 30 && c <= 37) state.fg = BASIC[c - 30];
      else if (c >= 90 && c <= 97) state.fg = BASIC[c - 90 + 8];
      else if (c === 39) state.fg = null;
      else if (c >= 40 && c <= 47) state.bg = BASIC[c - 40];
      else if (c >= 100 && c <= 107) state.bg = BASIC[c - 100 + 8];
      else if (c === 49) state.bg = null;
      else if (c === 38 || c === 48) {
        let value = null;
        if (codes[i + 1] === 5) { value = color256(byte(codes[i + 2])); i += 2; }
        else if (codes[i + 1] === 2) { value = `rgb(${byte(codes[i + 2])},${byte(codes[i + 3])},${byte(codes[i + 4])})`; i += 4; }
        if (c === 38) state.fg = value; else state.bg = value;
      }
    }
  }

  function styled(state) {
    return state.fg || state.bg || state.bold || state.dim || state.italic || state.underline || state.inverse;
  }

  // Appends the text of one log line to `parent` as text nodes and styled spans.
  function renderAnsi(text, parent) {
    const state = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };
    let last = 0;
    const emit = (chunk) => {
      if (!chunk) return;
      if (!styled(state)) { parent.appendChild(document.createTextNode(chunk)); return; }
      const span = document.createElement("span");
      span.textContent = chunk;
      let fg = state.fg, bg = state.bg;
      if (state.inverse) { [fg, bg] = [bg || "var(--log-bg)", fg || "var(--log-fg)"]; }
      if (fg) span.style.color = fg;
      if (bg) span.style.backgroundColor = bg;
      if (state.bold) span.style.fontWeight = "bold";
      if (state.dim) span.style.opacity = "0.7";
      if (state.italic) span.style.fontStyle = "italic";
      if (state.underline) span.style.textDecoration = "underline";
      parent.appendChild(span);
    };
    ESCAPES.lastIndex = 0;
    let m;
    while ((m = ESCAPES.exec(text)) !== null) {
      emit(text.slice(last, m.index));
      last = ESCAPES.lastIndex;
      if (m[2] === "m") applySgr(state, m[1]);
    }
    emit(text.slice(last));
  }

  // --- search highlighting ------------------------------------------------------------------
  function highlight(element, needle) {
    if (!needle) return 0;
    const lower = needle.toLowerCase();
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    let count = 0;
    for (let node of nodes) {
      let index;
      while ((index = node.data.toLowerCase().indexOf(lower)) >= 0) {
        const match = node.splitText(index);
        node = match.splitText(needle.length);
        const mark = document.createElement("mark");
        match.parentNode.replaceChild(mark, match);
        mark.appendChild(match);
        count++;
      }
    }
    return count;
  }

  // --- the viewer -----------------------------------------------------------------------------
  function LogViewer(root) {
    this.root = root;
    this.output = root.querySelector("#logs-output");
    this.status = root.querySelector("#logs-status");
    this.notice = root.querySelector("#logs-notice");
    this.form = root.querySelector("#logs-options");
    this.search = root.querySelector("#logs-search");
    this.matches = root.querySelector("#logs-matches");
    this.pending = [];
    this.lines = []; // {el, msg, text}
    this.removed = 0; // lines removed from the page to stay under MAX_LINES
    this.skipped = 0; // lines the server skipped because the page was behind
    this.needle = "";
    this.matchCount = 0;
    this.socket = null;
    this.frame = 0;

    this.paused = false;
    this.pauseButton = root.querySelector("#logs-pause");
    this.pauseButton.addEventListener("click", () => this.setPaused(!this.paused));
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.connect(); });
    root.querySelector("#logs-wrap").addEventListener("change", (e) => this.output.classList.toggle("wrap", e.target.checked));
    root.querySelector("#logs-stdout").addEventListener("change", (e) => this.output.classList.toggle("hide-stdout", !e.target.checked));
    root.querySelector("#logs-stderr").addEventListener("change", (e) => this.output.classList.toggle("hide-stderr", !e.target.checked));
    let timer = 0;
    this.search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => this.setNeedle(this.search.value), 150); });
    this.search.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.nextMatch(); } });
    window.addEventListener("beforeunload", () => this.socket && this.socket.close());
    this.connect();
  }

  LogViewer.prototype.options = function () {
    const data = new FormData(this.form);
    return {
      tail: (data.get("tail") || "").trim(),
      since: (data.get("since") || "").trim(),
      timestamps: data.get("timestamps") ? "1" : "0",
      follow: data.get("follow") ? "1" : "0",
    };
  };

  // resumeSince (unix seconds): after the engine was lost, reopen from that moment and keep the
  // lines already shown; otherwise start afresh with the form's options.
  LogViewer.prototype.connect = function (resumeSince) {
    if (this.socket) { this.socket.onclose = null; this.socket.close(); }
    clearTimeout(this.retry);
    const resuming = resumeSince !== undefined;
    this.resuming = resuming;
    if (!resuming) {
      if (this.paused) this.setPaused(false);
      this.output.replaceChildren();
      this.lines = []; this.pending = []; this.removed = 0; this.skipped = 0; this.matchCount = 0;
      this.updateNotice(); this.updateMatches();
    }
    const o = this.options();
    if (!resuming) history.replaceState(null, "", `${location.pathname}?${new URLSearchParams(o)}`);
    const query = new URLSearchParams(resuming ? { ...o, tail: "all", since: String(resumeSince) } : o).toString();
    const download = new URLSearchParams({ since: o.since, timestamps: o.timestamps });
    document.getElementById("logs-download").href = `${this.root.dataset.download}?${download}`;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ref = encodeURIComponent(this.root.dataset.ref);
    const socket = new WebSocket(`${scheme}://${location.host}${document.body.dataset.wsBase || "/ws"}/containers/${ref}/logs/?${query}`);
    this.socket = socket;
    if (!resuming) this.setStatus(gettext("Connecting…"));
    socket.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      if (this.resuming) { this.retry = setTimeout(() => this.connect(this.lostAt), 3000); return; }
      if (event.code === 4401) this.setStatus(gettext("Your session has ended: log in again to see the logs."), true);
      else if (event.code === 4403) this.setStatus(gettext("You do not have a role that may see logs."), true);
      else if (!this.ended && !this.failed) this.setStatus(gettext("Disconnected from the panel."), true);
    };
  };

  LogViewer.prototype.onMessage = function (message) {
    if (message.type === "start") {
      this.ended = false; this.failed = false;
      const resumed = this.resuming ? " · " + gettext("resumed after the engine came back") : "";
      this.resuming = false;
      document.getElementById("logs-stderr-toggle").hidden = message.tty;
      this.setStatus((message.follow ? gettext("Following (live)") + (message.tty ? " · " + gettext("tty: one stream") : "") : gettext("Loading…")) + resumed);
    } else if (message.type === "lost") {
      // not the end of the log: the engine went away. Say so, and resume from now when it returns.
      this.lostAt = Date.now() / 1000;
      this.failed = true;
      this.resuming = true;
      this.setStatus(interpolate(gettext("Lost the engine: %s Resuming when it returns…"), [message.message]), true);
      this.retry = setTimeout(() => this.connect(this.lostAt), 3000);
    } else if (this.resuming && message.type === "error") {
      this.setStatus(interpolate(gettext("Lost the engine: %s Resuming when it returns…"), [message.message]), true);
    } else if (message.type === "lines") {
      this.pending.push(message);
      if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
    } else if (message.type === "end") {
      this.ended = true;
      this.pending.push(message);
      if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
    } else if (message.type === "error") {
      this.failed = true;
      this.setStatus(message.message, true);
    }
  };

  // While paused nothing is rendered or acknowledged, so the server stops sending after four batches
  // and keeps only the newest lines (counting the rest): pausing costs neither side memory.
  LogViewer.prototype.setPaused = function (paused) {
    this.paused = paused;
    this.pauseButton.textContent = paused ? gettext("Resume") : gettext("Pause");
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    this.root.classList.toggle("paused", paused);
    if (!paused && this.pending.length && !this.frame) this.frame = requestAnimationFrame(() => this.render());
  };

  LogViewer.prototype.render = function () {
    this.frame = 0;
    if (this.paused) return;
    const atBottom = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    const batches = this.pending;
    this.pending = [];
    let ended = false;
    // lines that would be removed again in this same frame are counted, never built
    let unbuilt = batches.reduce((n, b) => n + (b.lines ? b.lines.length : 0), 0) - MAX_LINES;
    for (const batch of batches) {
      if (batch.type === "end") { ended = true; continue; }
      if (batch.dropped) this.skipped += batch.dropped;
      let lines = batch.lines;
      if (unbuilt > 0) {
        const cut = Math.min(unbuilt, lines.length);
        lines = lines.slice(cut);
        unbuilt -= cut;
        this.removed += cut;
      }
      for (const [stream, stamp, text] of lines) fragment.appendChild(this.makeLine(stream, stamp, text));
    }
    this.output.appendChild(fragment);
    const over = this.lines.length - MAX_LINES;
    if (over > 0) {
      const gone = this.lines.splice(0, over);
      const range = document.createRange(); // one removal for the whole run of old lines
      range.setStartBefore(gone[0].el);
      range.setEndAfter(gone[gone.length - 1].el);
      range.deleteContents();
      this.removed += over;
    }
    if (atBottom) this.output.scrollTop = this.output.scrollHeight;
    this.updateNotice();
    this.updateMatches();
    if (ended) this.setStatus(interpolate(gettext("End of log · %s lines"), [this.lines.length + this.removed]));
    // acknowledge only once shown: the server sends the next batches when the page keeps up
    for (const batch of batches) {
      if (batch.type === "lines" && this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type: "ack", seq: batch.seq }));
      }
    }
  };

  LogViewer.prototype.makeLine = function (stream, stamp, text) {
    const el = document.createElement("div");
    el.className = `line ${stream}`;
    if (stamp) {
      const ts = document.createElement("span");
      ts.className = "ts";
      ts.textContent = stamp;
      el.appendChild(ts);
    }
    const msg = document.createElement("span");
    msg.className = "msg";
    renderAnsi(text, msg);
    el.appendChild(msg);
    this.lines.push({ el, msg, text });
    if (this.needle) this.matchCount += highlight(msg, this.needle);
    return el;
  };

  LogViewer.prototype.setNeedle = function (needle) {
    this.needle = needle;
    this.matchCount = 0;
    this.current = -1;
    for (const line of this.lines) {
      if (line.msg.querySelector("mark")) { line.msg.replaceChildren(); renderAnsi(line.text, line.msg); }
      if (needle) this.matchCount += highlight(line.msg, needle);
    }
    this.updateMatches();
  };

  LogViewer.prototype.nextMatch = function () {
    const marks = this.output.querySelectorAll("mark");
    if (!marks.length) return;
    if (this.current >= 0 && marks[this.current]) marks[this.current].classList.remove("current");
    this.current = (this.current + 1) % marks.length;
    marks[this.current].classList.add("current");
    marks[this.current].scrollIntoView({ block: "center" });
  };

  LogViewer.prototype.updateMatches = function () {
    // removed lines take their marks with them: count what is on the page
    if (this.needle && this.removed) this.matchCount = this.output.querySelectorAll("mark").length;
    this.matches.textContent = this.needle ? interpolate(ngettext("%s match", "%s matches", this.matchCount), [this.matchCount]) : "";
  };

  LogViewer.prototype.updateNotice = function () {
    const parts = [];
    if (this.removed) parts.push(interpolate(gettext("%s older lines were removed from the page (it keeps the last %s)."), [this.removed.toLocaleString(), MAX_LINES.toLocaleString()]));
    if (this.skipped) parts.push(interpolate(gettext("%s lines were skipped: the container printed faster than the page can show."), [this.skipped.toLocaleString()]));
    if (parts.length) parts.push(gettext("Download the log to get every line."));
    this.notice.textContent = parts.join(" ");
    this.notice.hidden = !parts.length;
  };

  LogViewer.prototype.setStatus = function (text, bad) {
    this.status.textContent = text;
    this.status.classList.toggle("bad", !!bad);
  };

  window.DockerPanelLogs = { renderAnsi, highlight, MAX_LINES };
  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("logs");
    if (root) window.dockerPanelLogViewer = new LogViewer(root);
  });
})();
