// Bulk stop/remove confirmation: streams the report from /containers/bulk/ (NDJSON, see
// container_bulk), one row per container as it finishes, then the summary. Without this script the
// form posts as usual and the answer is the whole report at once.
(() => {
  const form = document.getElementById("bulk-confirm");
  const report = document.getElementById("bulk-report");
  if (!form || !report) return;
  const rows = report.querySelector("tbody");
  const status = document.getElementById("bulk-status");
  let total = 0;

  function cell(row, text, className) {
    const td = row.insertCell();
    if (className) {
      const inner = document.createElement(className === "cli" ? "code" : "span");
      if (className !== "cli") inner.className = className;
      inner.textContent = text;
      td.append(inner);
    } else {
      td.textContent = text;
    }
  }

  function itemRow(e) {
    const row = rows.insertRow();
    row.className = e.ok ? "ok" : "failed";
    row.dataset.id = e.id;
    cell(row, e.name);
    cell(row, e.outcome, e.ok ? "state-running" : "state-exited");
    cell(row, e.command, "cli");
    cell(row, e.message);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.dataset.sending === "1") return;
    form.dataset.sending = "1";
    const button = event.submitter || form.querySelector("button[type=submit]");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    rows.innerHTML = "";
    status.className = "";
    status.textContent = gettext("Working…");
    report.hidden = false;
    // the form has a field named "action": form.action would be that field, not the URL
    const last = await streamPost(form.getAttribute("action"), new FormData(form), (e) => {
      if (e.type === "start") {
        total = e.total;
        document.getElementById("bulk-command").textContent = e.command;
      } else if (e.type === "item") {
        itemRow(e);
        status.textContent = interpolate(gettext("%s of %s finished…"), [rows.rows.length, total]);
      } else if (e.type === "done") {
        status.textContent = e.message;
        status.className = e.ok ? "state-running" : "errors";
      } else if (e.type === "error") {
        // an answer that is not the stream (a refusal, the engine down): its page is not shown here
        status.textContent = e.status ? interpolate(gettext("Not done: the panel answered HTTP %s. Reload the page."), [e.status]) : e.message;
        status.className = "errors";
      }
    });
    button.removeAttribute("aria-busy");
    if (!last || last.type !== "done") {
      button.disabled = false;
      delete form.dataset.sending;
    }
  });
})();
