// Fills the containers table's CPU % and MEM USAGE cells from /containers/stats.json, which the server
// answers from its background sampler (one engine stats stream per running container, never one
// blocking stats call per row). Polls while the table is on the page; refills after htmx swaps it.
(() => {
  const PERIOD_MS = 3000;
  let timer = null;

  async function refresh() {
    const table = document.querySelector("table.containers[data-usage-url]");
    if (!table) return;
    if (!table.querySelector("td[data-col=cpu], td[data-col=mem]")) return;
    let data;
    try {
      const response = await fetch(table.dataset.usageUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) {
      return;
    }
    const usage = data.containers || {};
    for (const row of document.querySelectorAll("table.containers tr[data-id]")) {
      const u = usage[row.dataset.id];
      const cpu = row.querySelector("td[data-col=cpu]");
      const mem = row.querySelector("td[data-col=mem]");
      if (cpu) cpu.textContent = u ? (u.cpu_percent === null ? "--" : u.text.cpu) : "";
      if (mem) mem.textContent = u ? u.text.mem : "";
    }
  }

  function schedule() {
    clearInterval(timer);
    refresh();
    timer = setInterval(refresh, PERIOD_MS);
  }

  document.addEventListener("DOMContentLoaded", schedule);
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.closest && (event.target.id === "container-list" || event.target.querySelector?.("table.containers"))) refresh();
  });
  document.addEventListener("htmx:load", () => refresh());
})();
