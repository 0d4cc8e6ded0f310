// Fills the containers table's CPU % and MEM USAGE cells from /containers/stats.json?ids=..., which the
// server answers from its background sampler. Only the rows on screen are asked for (an
// IntersectionObserver watches the rows), so the server samples only those, within its bound
// (DOCKERPANEL_STATS_MAX_STREAMS); rows over the bound show "—" and say why. Polls while the page
// is visible and a row is on screen; asks at once when rows scroll into view or are swapped in.
(() => {
  const PERIOD_MS = 3000;
  const ID_LENGTH = 12; // short IDs, as `docker ps` shows them: the server takes unique prefixes
  const visible = new Set();
  const watched = new WeakSet();
  const shown = new Map(); // short ID -> what its cells last showed, for rows swapped in afresh
  let timer = null;
  let soon = null;

  const observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver((entries) => {
          let appeared = false;
          for (const entry of entries) {
            if (entry.isIntersecting) {
              if (!visible.has(entry.target)) appeared = true;
              visible.add(entry.target);
            } else {
              visible.delete(entry.target);
            }
          }
          if (appeared) refreshSoon();
        })
      : null;

  function usageTable() {
    const table = document.querySelector("table.containers[data-usage-url]");
    return table && table.querySelector("td[data-col=cpu], td[data-col=mem]") ? table : null;
  }

  function watchRows(table) {
    for (const row of table.querySelectorAll("tr[data-id]")) {
      if (watched.has(row)) continue;
      watched.add(row);
      // a running row swapped in (the server renders "…") keeps its numbers until the next answer
      const last = shown.get(row.dataset.id.slice(0, ID_LENGTH));
      if (last && row.querySelector("td.usage")?.textContent === "…") show(row, ...last);
      if (observer) observer.observe(row);
      else visible.add(row); // no observer: every row counts as on screen
    }
  }

  function show(row, cpuText, memText, title) {
    shown.set(row.dataset.id.slice(0, ID_LENGTH), [cpuText, memText, title]);
    const cpu = row.querySelector("td[data-col=cpu]");
    const mem = row.querySelector("td[data-col=mem]");
    for (const [cell, text] of [
      [cpu, cpuText],
      [mem, memText],
    ]) {
      if (!cell) continue;
      cell.textContent = text;
      if (title) cell.title = title;
      else cell.removeAttribute("title");
    }
  }

  async function refresh() {
    const table = usageTable();
    if (!table || document.hidden) return;
    watchRows(table);
    const rows = [...visible].filter((row) => row.isConnected && table.contains(row));
    for (const row of visible) if (!row.isConnected) visible.delete(row);
    if (!rows.length) return;
    const keys = new Map(rows.map((row) => [row, row.dataset.id.slice(0, ID_LENGTH)]));
    const url = new URL(table.dataset.usageUrl, location.href);
    url.searchParams.set("ids", [...new Set(keys.values())].join(","));
    let data;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) {
      return;
    }
    if (shown.size > 2000) shown.clear();
    const usage = data.containers || {};
    const over = new Set(data.not_sampled || []);
    const pending = new Set(data.pending || []);
    for (const [row, key] of keys) {
      const u = usage[key];
      if (u) show(row, u.cpu_percent === null ? "--" : u.text.cpu, u.text.mem, "");
      else if (over.has(key))
        show(
          row,
          "—",
          "—",
          interpolate(
            gettext("Not sampled: more containers are on screen than the panel samples at once (%s, DOCKERPANEL_STATS_MAX_STREAMS). Scroll or filter the list to see this one's numbers."),
            [data.max_streams],
          ),
        );
      else if (data.error) show(row, "—", "—", interpolate(gettext("No numbers: %s"), [data.error]));
      else if (pending.has(key)) show(row, "…", "…", gettext("Waiting for the engine's first sample"));
      else show(row, "", "", ""); // not running: nothing to show
    }
  }

  function refreshSoon() {
    clearTimeout(soon);
    soon = setTimeout(refresh, 150);
  }

  function schedule() {
    clearInterval(timer);
    refresh();
    timer = setInterval(refresh, PERIOD_MS);
  }

  document.addEventListener("DOMContentLoaded", schedule);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshSoon();
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.closest && (event.target.id === "container-list" || event.target.querySelector?.("table.containers"))) refreshSoon();
  });
  document.addEventListener("htmx:load", () => {
    const table = usageTable();
    if (table) watchRows(table); // new rows: the observer asks for them once they are on screen
  });
})();
