// Pull form: streams `docker pull` progress (one row per layer, like the CLI) from /images/pull/.
(() => {
  const form = document.getElementById("pull-form");
  if (!form) return;
  const box = document.getElementById("pull-progress");
  const rows = box.querySelector("tbody");
  const errorBox = document.getElementById("pull-error");
  const statusLine = document.getElementById("pull-status");

  function bytes(n) {
    if (n == null) return "";
    const units = ["B", "kB", "MB", "GB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
    return `${n.toPrecision(3)}${units[i]}`;
  }

  function layerRow(id) {
    let row = rows.querySelector(`tr[data-layer="${CSS.escape(id)}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.layer = id;
      row.innerHTML = "<td class=mono></td><td class=status></td><td class=bytes></td>";
      row.cells[0].textContent = id;
      rows.appendChild(row);
    }
    return row;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.textContent = "";
    rows.innerHTML = "";
    statusLine.textContent = "";
    box.hidden = false;
    const last = await streamPost(form.action, new FormData(form), (e) => {
      if (e.type === "start") {
        document.getElementById("pull-command").textContent = e.command;
      } else if (e.type === "progress") {
        if (e.id) {
          const row = layerRow(e.id);
          row.querySelector(".status").textContent = e.status;
          row.querySelector(".bytes").textContent = e.total ? `${bytes(e.current)} / ${bytes(e.total)}` : "";
        } else {
          statusLine.textContent = e.status;
        }
      } else if (e.type === "done") {
        statusLine.textContent = e.message;
        statusLine.className = "state-running";
      } else if (e.type === "error") {
        if (e.status === 400) { box.hidden = true; errorBox.textContent = e.message; }
        else { statusLine.textContent = e.message; statusLine.className = "errors"; }
      }
    });
    button.disabled = false;
    if (last && last.type === "done") document.body.dispatchEvent(new Event("engine-changed"));
  });
})();
