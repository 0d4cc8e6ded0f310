// Live updates: one websocket to /ws/events/ per page. Each message becomes an "engine-changed"
// event on <body> (fragments refresh with hx-trigger="engine-changed from:body"); panel actions
// also show a toast ("alice stopped web"). Reconnects with backoff; explains refusals.
// The containers list (#container-list[data-rows-url]) is not refreshed whole for a container's
// event: the page tells its socket what it shows ({"watch": "containers", "query": ...}) and the
// server pushes the rows of the containers named in a burst of events ({"kind": "rows"}); each row
// is replaced, removed (null: gone, or no longer matching the filters) or, for a row the page does
// not show yet, the list is refreshed once. Until the server has said it watches (an older server
// never does), the rows are fetched instead (?id=...), as for an image's event, which refreshes the
// rows showing that image. A hidden page does nothing and refreshes once when it is shown again.
(() => {
  const REFUSED = {
    4401: gettext("Live updates stopped: your session has ended. Log in again."),
    4403: gettext("Live updates are off: your account has no role. Ask an administrator for one."),
  };
  const ROLE_CHANGED = 4000;
  const LAYER_DOWN = 4503; // Redis is down: no live updates for now, keep retrying
  const DEBOUNCE_MS = 150;
  const ROWS_WAIT_MS = 200; // a burst of events about containers becomes one fetch
  const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
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
      banner(interpolate(gettext("The Docker engine is down: %s. What you see may be out of date; this clears by itself when it returns."), [event.error || gettext("it cannot be reached")]));
    } else if (event.action === "reconnected") {
      banner("");
    }
  }

  document.body.addEventListener("htmx:beforeSwap", (e) => {
    // htmx leaves error answers unswapped: a 503 means the engine is down, so say so.
    if (e.detail.xhr.status === 503) {
      banner(gettext("The Docker engine is down: the page could not be refreshed. This clears by itself when it returns."));
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
    el.textContent = text + " " + gettext("Retrying; reload to see changes meanwhile.");
  }

  let rowIds = new Map(); // container ID -> the actions heard about it since the last fetch
  let rowsTimer = null;
  let missed = false; // something changed while the page was hidden
  let socket = null;
  let watched = ""; // the list query the socket was last told about
  let watching = false; // the server pushes the list's rows on this socket

  function watch() {
    // tell the socket what the list shows (again whenever its query changes)
    const list = document.querySelector("#container-list[data-rows-url]");
    if (!list || !socket || socket.readyState !== WebSocket.OPEN) return;
    const query = list.dataset.rowsUrl.split("?")[1] || "";
    if (query === watched) return;
    watched = query;
    socket.send(JSON.stringify({ watch: "containers", query }));
  }
  document.body.addEventListener("htmx:afterSettle", watch);

  function changed(event) {
    if (document.visibilityState === "hidden") { missed = true; return; }
    const list = document.querySelector("#container-list[data-rows-url]");
    if (list && event.kind === "panel") return; // the engine's own event updates the rows
    if (list && event.kind === "engine" && event.type === "container" && CONTAINER_ID.test(event.id || "")) {
      if (!watching) queueRows([event.id], event.action); // else the socket pushes its row
      return;
    }
    if (list && event.kind === "engine" && event.type === "image") {
      // an image tagged, untagged or deleted changes the IMAGE cell of the rows that link to it
      const image = (event.id || "").replace(/^sha256:/, "").slice(0, 12);
      if (!CONTAINER_ID.test(image)) return;
      queueRows([...list.querySelectorAll(`td[data-col="image"] a[href="/images/${image}/"]`)].map((a) => a.closest("tr").dataset.id), "image");
      return;
    }
    refreshAll(event);
  }

  function queueRows(ids, action) {
    for (const id of ids) {
      if (!rowIds.has(id)) rowIds.set(id, new Set());
      rowIds.get(id).add(action);
    }
    if (!ids.length) return;
    if (!rowsTimer) rowsTimer = setTimeout(refreshRows, ROWS_WAIT_MS);
  }

  function refreshAll(event) {
    // Several engine events come at once (kill, die, stop): refresh once, soon after the first.
    pending = event;
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      document.body.dispatchEvent(new CustomEvent("engine-changed", { detail: pending }));
    }, DEBOUNCE_MS);
  }

  async function refreshRows() {
    rowsTimer = null;
    const heard = rowIds;
    rowIds = new Map();
    const list = document.querySelector("#container-list[data-rows-url]");
    if (!list) return;
    if (document.visibilityState === "hidden") { missed = true; return; }
    const tbody = list.querySelector("table.containers tbody");
    if (!tbody) return;
    // A container the page does not show matters only if it may now belong here: on a list of
    // several pages only a new one (it moves the pages), on a single page anything but its removal.
    const paged = list.hasAttribute("data-paged");
    const ids = [...heard.keys()].filter((id) => {
      if (tbody.querySelector(`tr[data-id="${id}"]`)) return true;
      const actions = heard.get(id);
      return paged ? actions.has("create") : [...actions].some((a) => a !== "destroy");
    });
    if (!ids.length) return;
    const base = list.dataset.rowsUrl;
    const url = base + (base.endsWith("?") ? "" : "&") + ids.map((id) => "id=" + id).join("&");
    let response;
    try {
      response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    } catch {
      return; // the socket's reconnect refreshes the page
    }
    if (response.status === 503) {
      banner(gettext("The Docker engine is down: the page could not be refreshed. This clears by itself when it returns."));
      return;
    }
    if (!response.ok) return;
    const found = document.createElement("template");
    found.innerHTML = await response.text();
    if (!tbody.isConnected) return; // the whole list was refreshed meanwhile
    applyRows(tbody, ids, (id) => found.content.querySelector(`tr[data-id="${id}"]`), () => true);
  }

  function pushedRows(message) {
    // {"kind": "rows", "rows": {id: "<tr>" or null}, "new": [ids just created]} from the socket
    if (document.visibilityState === "hidden") { missed = true; return; }
    const list = document.querySelector("#container-list[data-rows-url]");
    const tbody = list && list.querySelector("table.containers tbody");
    if (!tbody) return;
    if (message.refresh) { refreshAll({ kind: "engine", type: "container" }); return; }
    const rows = message.rows && typeof message.rows === "object" ? message.rows : {};
    const ids = Object.keys(rows).filter((id) => CONTAINER_ID.test(id));
    const created = new Set(Array.isArray(message.new) ? message.new : []);
    // as for fetched rows: on a list of several pages only a new container may belong here
    const paged = list.hasAttribute("data-paged");
    applyRows(tbody, ids, (id) => {
      if (typeof rows[id] !== "string") return null;
      const found = document.createElement("template");
      found.innerHTML = rows[id];
      return found.content.querySelector(`tr[data-id="${id}"]`);
    }, (id) => !paged || created.has(id));
  }

  function applyRows(tbody, ids, freshRow, mayJoin) {
    let unseen = false;
    for (const id of ids) {
      const row = tbody.querySelector(`tr[data-id="${id}"]`);
      const fresh = freshRow(id);
      if (row && fresh) {
        keepState(row, fresh);
        row.replaceWith(fresh);
      } else if (row) {
        row.remove(); // gone, or no longer matching the filters
      } else if (fresh && mayJoin(id)) {
        unseen = true; // where it goes depends on the sort and the page: ask for the list
      }
    }
    if (unseen) refreshAll({ kind: "engine", type: "container" });
  }

  function keepState(row, fresh) {
    // what the user ticked, and the usage numbers until usage.js next fills them in
    const box = row.querySelector("input[name=ids]");
    const freshBox = fresh.querySelector("input[name=ids]");
    if (box && freshBox && !freshBox.disabled) freshBox.checked = box.checked;
    for (const cell of fresh.querySelectorAll("td.usage")) {
      const old = row.querySelector(`td[data-col="${cell.dataset.col}"]`);
      if (old && cell.textContent) cell.textContent = old.textContent;
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && missed) {
      missed = false;
      refreshAll({ kind: "engine", type: "visible" });
    }
  });

  function duplicate(event) {
    if (!event.key) return false;
    if (seen.includes(event.key)) return true;
    seen.push(event.key);
    if (seen.length > 100) seen.shift();
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${document.body.dataset.wsBase || "/ws"}/events/`);
    socket = ws;
    watched = "";
    watching = false;
    ws.addEventListener("open", () => { delay = 1000; document.body.dataset.live = "on"; watch(); });
    // a socket that stays open works: live updates are back
    ws.addEventListener("open", () => setTimeout(() => { if (ws.readyState === WebSocket.OPEN) liveNotice(""); }, 2000));
    ws.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (duplicate(event)) return;
      if (event.kind === "watching") { watching = true; return; }
      if (event.kind === "rows") { pushedRows(event); return; }
      if (event.kind === "live" && event.action === "unavailable") { liveNotice(event.message); return; }
      if (event.kind === "panel" && event.text) toast(event.text);
      engineState(event);
      changed(event);
    });
    ws.addEventListener("close", (close) => {
      document.body.dataset.live = "off";
      if (REFUSED[close.code]) {
        toast(REFUSED[close.code], "error");
        return; // reconnecting cannot help
      }
      if (close.code === LAYER_DOWN) document.body.dataset.live = "degraded";
      if (close.code === ROLE_CHANGED) {
        toast(gettext("Your role has changed: reload the page to see what you may do now."));
        delay = 0;
      }
      setTimeout(connect, delay + Math.random() * 500);
      delay = Math.min(Math.max(delay, 1000) * 2, 30000);
    });
  }

  if (window.WebSocket) connect();
})();
