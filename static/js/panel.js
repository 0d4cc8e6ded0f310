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
// ...also when the rows were ticked while the refresh was on its way: its answer is dropped.
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const keep = target && target.dataset && target.dataset.keepWhileChecked;
  if (keep && target.querySelector(keep)) event.detail.shouldSwap = false;
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// An action shows that it is working and cannot be sent twice: a POST form, once sent, marks its
// button busy and ignores further submits until the page changes (a stop can take 10 s). Runs after
// the confirmation above (registered later), and only for submits that went ahead.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
  if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.hasAttribute("data-no-busy")) return;
  if (form.dataset.sending === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  const button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
  if (button) {
    button.setAttribute("aria-busy", "true");
    // the button's own value must still be sent: disable it only after this submit has gone
    setTimeout(() => { button.disabled = true; }, 0);
  }
  // a download or a response that keeps this page (back/forward cache) makes the form usable again
  const release = () => {
    delete form.dataset.sending;
    if (button) { button.removeAttribute("aria-busy"); button.disabled = false; }
  };
  window.addEventListener("pageshow", release, { once: true });
  setTimeout(release, 120000);
});

// htmx actions: the element that sent a request is busy until its answer
document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (elt && elt.matches && elt.matches("button, .button")) elt.setAttribute("aria-busy", "true");
});
document.addEventListener("htmx:afterRequest", (event) => {
  const elt = event.detail.elt;
  if (elt && elt.removeAttribute) elt.removeAttribute("aria-busy");
});

// The phone layout's menu button (the top bar folds its links and Log out behind it)
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (!toggle) return;
  const open = document.body.classList.toggle("nav-open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});
