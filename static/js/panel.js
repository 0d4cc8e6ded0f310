// DockerPanel page helpers: copy buttons and confirmations. Kept small on purpose.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy-target]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copyTarget);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(() => {
        const label = copy.textContent;
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = label; }, 1200);
      });
    }
  }
});
