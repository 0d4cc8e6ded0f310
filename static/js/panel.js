// DockerPanel page helpers: copy buttons, confirmations, auto-submitting filters, select-all and
// dismissable messages. No inline handlers anywhere: the Content-Security-Policy forbids them.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy-target]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copyTarget);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(() => {
        const label = copy.textContent;
        copy.textContent = gettext("Copied");
        setTimeout(() => { copy.textContent = label; }, 1200);
      });
    }
  }
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) dismiss.parentElement.remove();
  const all = event.target.closest("[data-select-all]");
  if (all) {
    for (const box of all.closest("table").querySelectorAll(all.dataset.selectAll)) box.checked = all.checked;
  }
});

document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit();
});

// A live refresh waits while the user has ticked rows (htmx's [condition] triggers need eval, which
// the Content-Security-Policy forbids).
document.addEventListener("htmx:confirm", (event) => {
  const keep = event.target.dataset && event.target.dataset.keepWhileChecked;
  if (keep && event.target.querySelector(keep)) event.preventDefault();
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
