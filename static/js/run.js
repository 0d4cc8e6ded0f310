// Run form: add and remove port/env rows without reloading, Enter in the -p text fills the rows,
// and the pull-first page streams `docker pull` progress, then submits the same form again.
(function () {
  function renumber(prefix) {
    const rows = document.querySelectorAll(`#${prefix}-rows [data-row="${prefix}"]`);
    const pattern = new RegExp(`^(id_)?${prefix}-(\\d+|__prefix__)-`);
    rows.forEach((row, i) => {
      row.querySelectorAll("input, select, textarea, label").forEach((el) => {
        for (const attr of ["name", "id", "for"]) {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(pattern, `$1${prefix}-${i}-`));
        }
      });
    });
    const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
    if (total) total.value = rows.length;
  }

  function rowsChanged() {
    document.body.dispatchEvent(new CustomEvent("rows-changed"));
  }

  document.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      const prefix = add.dataset.addRow;
      const template = document.getElementById(`${prefix}-row-template`);
      const body = document.getElementById(`${prefix}-rows`);
      body.appendChild(template.content.cloneNode(true));
      renumber(prefix);
      const first = body.lastElementChild && body.lastElementChild.querySelector("input");
      if (first) first.focus();
      rowsChanged();
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      const row = remove.closest("[data-row]");
      const prefix = row.dataset.row;
      row.remove();
      renumber(prefix);
      rowsChanged();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.id === "id_publish") {
      event.preventDefault();
      document.getElementById("fill-ports").click();
    }
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "ports-section") rowsChanged();
  });

  // Pull first: one line per layer, as the CLI shows them.
  const pull = document.getElementById("pull");
  if (pull && window.streamPost) {
    const list = document.getElementById("pull-progress");
    const status = document.getElementById("pull-status");
    const lines = new Map();
    const body = new FormData();
    body.append("image", pull.dataset.image);
    window.streamPost(pull.dataset.url, body, (event) => {
      if (event.type === "progress") {
        const key = event.id || event.status;
        let line = lines.get(key);
        if (!line) {
          line = document.createElement("li");
          lines.set(key, line);
          list.appendChild(line);
        }
        const bytes = event.total ? ` ${Math.round((100 * event.current) / event.total)}%` : "";
        line.textContent = `${event.id ? event.id + ": " : ""}${event.status}${bytes}`;
      } else if (event.type === "done") {
        status.textContent = interpolate(gettext("Pulled %s; creating the container…"), [event.image]);
        document.getElementById("pulled-form").submit();
      } else if (event.type === "error") {
        status.textContent = event.message;
        status.classList.add("errors");
        status.setAttribute("role", "alert");
      }
    });
  }
})();
