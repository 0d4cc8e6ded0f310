// Apache demo: stream a deploy as NDJSON and show each step with its live output.
(function () {
  const progress = document.getElementById("deploy-progress");
  const steps = document.getElementById("deploy-steps");
  const result = document.getElementById("deploy-result");
  const remove = document.getElementById("deploy-remove");
  const items = new Map();
  const layers = new Map();

  function item(key) {
    let li = items.get(key);
    if (!li) {
      li = document.createElement("li");
      li.dataset.step = key;
      li.innerHTML = '<span class="step-status"></span><div class="step-title"></div><div class="step-message"></div><pre class="output"></pre>';
      items.set(key, li);
      steps.appendChild(li);
    }
    return li;
  }

  function onEvent(event) {
    if (event.type === "step") {
      const li = item(event.step);
      li.className = event.status;
      li.querySelector(".step-status").textContent = event.status;
      if (event.title) li.querySelector(".step-title").textContent = event.title;
      if (event.message) li.querySelector(".step-message").textContent = event.message;
    } else if (event.type === "output") {
      const pre = item(event.step).querySelector("pre.output");
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent += event.text;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    } else if (event.type === "progress") {
      const pre = item(event.step).querySelector("pre.output");
      const key = event.id || event.status;
      const bytes = event.total ? ` ${Math.round((100 * event.current) / event.total)}%` : "";
      layers.set(key, `${event.id ? event.id + ": " : ""}${event.status}${bytes}`);
      pre.textContent = Array.from(layers.values()).join("\n");
    } else if (event.type === "done") {
      result.innerHTML = "";
      const p = document.createElement("p");
      p.append(`${event.container} is serving at `);
      const a = document.createElement("a");
      a.href = event.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.className = "deploy-link";
      a.textContent = event.url;
      p.append(a);
      result.append(p);
    } else if (event.type === "error") {
      const p = document.createElement("p");
      p.className = "errors";
      p.setAttribute("role", "alert");
      p.textContent = event.message;
      result.replaceChildren(p);
      if (event.container) {
        remove.querySelector("input[name=container]").value = event.container;
        remove.hidden = false;
      }
    }
  }

  document.querySelectorAll("form.deploy-form").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      items.clear();
      layers.clear();
      steps.replaceChildren();
      result.replaceChildren();
      remove.hidden = true;
      progress.hidden = false;
      const buttons = document.querySelectorAll("form.deploy-form button");
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await window.streamPost(form.dataset.url, new FormData(form), onEvent);
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  });
})();
