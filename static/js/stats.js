// Live `docker stats` panels: every .stats-panel[data-stats-ref] on the page (also ones htmx swaps
// in later) opens a websocket and draws the last minutes as small inline SVG charts.
(function () {
  "use strict";
  if (window.DockerPanelStats) return; // included twice (page and embedded panel): start once

  const HISTORY = 180; // samples kept for the charts: about three minutes at one a second
  const SVG = "http://www.w3.org/2000/svg";

  function binary(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n.toPrecision(4).replace(/\.?0+$/, "")}${units[i]}`;
  }

  function decimal(n) {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return `${n.toPrecision(3).replace(/\.?0+$/, "")}${units[i]}`;
  }

  // Draws series (arrays of numbers, oldest first) as polylines scaled to `max` (or their max).
  function drawChart(svg, series, max, label) {
    const width = 300, height = 60;
    const peak = Math.max(...series.flat(), 1e-9);
    const top = max ? Math.max(max, peak) : peak * 1.15; // a fixed scale (CPU 100%) grows past 100% on several CPUs
    const nodes = [];
    series.forEach((values, index) => {
      if (values.length < 2) return;
      const step = width / (HISTORY - 1);
      const x0 = width - (values.length - 1) * step;
      const points = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - (v / top) * (height - 2) - 1).toFixed(1)}`);
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", points.join(" "));
      line.setAttribute("class", `series series-${index}`);
      line.setAttribute("vector-effect", "non-scaling-stroke");
      nodes.push(line);
    });
    const text = document.createElementNS(SVG, "title");
    text.textContent = label;
    svg.replaceChildren(text, ...nodes);
    svg.dataset.points = String(series[0] ? series[0].length : 0);
  }

  function Panel(root) {
    this.root = root;
    this.history = { cpu: [], mem: [], rx: [], tx: [] };
    this.previous = null;
    this.samples = 0;
    root.dataset.ready = "1";
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ref = encodeURIComponent(root.dataset.statsRef);
    this.socket = new WebSocket(`${scheme}://${location.host}${document.body.dataset.wsBase || "/ws"}/containers/${ref}/stats/`);
    this.socket.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    this.socket.onclose = (event) => {
      if (event.code === 4401) this.set("status", gettext("log in again to see stats"));
      else if (event.code === 4403) this.set("status", gettext("you do not have a role that may see stats"));
      else if (!this.failed) this.set("status", gettext("disconnected"));
    };
  }

  Panel.prototype.set = function (field, text) {
    const el = this.root.querySelector(`[data-field="${field}"]`);
    if (el) el.textContent = text;
  };

  Panel.prototype.push = function (name, value) {
    const values = this.history[name];
    values.push(value);
    if (values.length > HISTORY) values.shift();
  };

  Panel.prototype.onMessage = function (message) {
    if (!this.root.isConnected) { this.socket.close(); return; } // the panel was swapped away
    if (message.type === "error") { this.failed = true; this.set("status", message.message); return; }
    if (message.type === "stopped") { this.set("status", gettext("not running")); this.set("cpu", "--"); return; }
    if (message.type === "end") { this.set("status", gettext("stats ended")); return; }
    if (message.type !== "sample") return;
    const u = message.usage, t = message.text;
    this.samples++;
    this.root.dataset.samples = String(this.samples);
    this.set("status", interpolate(gettext("live · %s"), [new Date().toLocaleTimeString()]));
    this.set("cpu", t.cpu);
    this.set("mem", t.mem);
    this.set("mem_percent", t.mem_percent);
    this.set("net", t.net);
    this.set("block", t.block);
    this.set("pids", t.pids);
    if (u.cpu_percent !== null) this.push("cpu", u.cpu_percent);
    this.push("mem", u.mem_usage);
    if (this.previous) {
      const seconds = Math.max((Date.parse(u.read) - Date.parse(this.previous.read)) / 1000, 0.001);
      this.push("rx", Math.max(u.net_rx - this.previous.net_rx, 0) / seconds);
      this.push("tx", Math.max(u.net_tx - this.previous.net_tx, 0) / seconds);
    }
    this.previous = u;
    const h = this.history;
    const cpuNow = h.cpu.length ? h.cpu[h.cpu.length - 1] : 0;
    drawChart(this.root.querySelector('[data-chart="cpu"]'), [h.cpu], 100, `CPU ${cpuNow.toFixed(1)}%`);
    drawChart(this.root.querySelector('[data-chart="mem"]'), [h.mem], 0, `Memory ${binary(u.mem_usage)}`);
    this.set("mem_scale", `peak ${binary(Math.max(...h.mem))}`);
    const rx = h.rx.length ? h.rx[h.rx.length - 1] : 0, tx = h.tx.length ? h.tx[h.tx.length - 1] : 0;
    drawChart(this.root.querySelector('[data-chart="net"]'), [h.rx, h.tx], 0, `rx ${decimal(rx)}/s, tx ${decimal(tx)}/s`);
    this.set("net_scale", `rx ${decimal(rx)}/s · tx ${decimal(tx)}/s`);
    this.set("cpu_scale", `peak ${h.cpu.length ? Math.max(...h.cpu).toFixed(1) : "--"}%`);
  };

  const SELECTOR = ".stats-panel[data-stats-ref]:not([data-ready])";

  function startPanels(scope) {
    const root = scope || document;
    const found = Array.from(root.querySelectorAll(SELECTOR));
    if (root.matches && root.matches(SELECTOR)) found.push(root);
    found.forEach((el) => new Panel(el));
  }

  window.DockerPanelStats = { startPanels };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => startPanels());
  else startPanels();
  document.addEventListener("htmx:load", (event) => startPanels(event.target));
})();
