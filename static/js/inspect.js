// `docker inspect` as a tree: each object and array folds (the first two levels open), a search box
// shows only the keys and values that match (with the path to them), and Copy still copies the
// whole JSON from the <pre> it is built from. Without JavaScript the <pre> is shown as it is.
(() => {
  const OPEN_DEPTH = 2;

  function labelled(element, key) {
    if (key === null) return;
    const k = document.createElement("span");
    k.className = "jt-key";
    k.textContent = key;
    element.append(k, ": ");
  }

  function leaf(key, value) {
    const row = document.createElement("div");
    row.className = "jt-row";
    labelled(row, key);
    const v = document.createElement("span");
    v.className = "jt-value jt-" + (value === null ? "null" : typeof value);
    v.textContent = JSON.stringify(value);
    row.append(v);
    return row;
  }

  function node(key, value, depth) {
    if (value === null || typeof value !== "object") return leaf(key, value);
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    if (!entries.length) return leaf(key, value);
    const box = document.createElement("details");
    box.className = "jt-node";
    box.open = depth < OPEN_DEPTH;
    const summary = document.createElement("summary");
    labelled(summary, key);
    const kind = document.createElement("span");
    kind.className = "jt-kind muted";
    kind.textContent = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    summary.append(kind);
    box.append(summary);
    const body = document.createElement("div");
    body.className = "jt-children";
    for (const [k, v] of entries) body.append(node(Array.isArray(value) ? `${k}` : k, v, depth + 1));
    box.append(body);
    return box;
  }

  function search(tree, text) {
    const wanted = text.trim().toLowerCase();
    const rows = tree.querySelectorAll(".jt-row, .jt-node > summary");
    for (const el of tree.querySelectorAll(".jt-hit")) el.classList.remove("jt-hit");
    if (!wanted) {
      for (const el of tree.querySelectorAll(".jt-row, .jt-node")) el.hidden = false;
      return 0;
    }
    for (const el of tree.querySelectorAll(".jt-row, .jt-node")) el.hidden = true;
    let hits = 0;
    for (const row of rows) {
      if (!row.textContent.toLowerCase().includes(wanted)) continue;
      // a summary matches only by its own key, not by what it folds
      if (row.tagName === "SUMMARY") {
        const key = row.querySelector(".jt-key");
        if (!key || !key.textContent.toLowerCase().includes(wanted)) continue;
      }
      hits += 1;
      row.classList.add("jt-hit");
      const item = row.tagName === "SUMMARY" ? row.parentElement : row;
      item.hidden = false;
      if (item.tagName === "DETAILS") for (const child of item.querySelectorAll(".jt-row, .jt-node")) child.hidden = false;
      for (let up = item.parentElement; up && up !== tree; up = up.parentElement) {
        if (up.classList.contains("jt-node")) { up.hidden = false; up.open = true; }
      }
    }
    return hits;
  }

  function build(pre) {
    if (pre.dataset.treeBuilt) return;
    let data;
    try { data = JSON.parse(pre.textContent); } catch { return; }
    pre.dataset.treeBuilt = "1";
    const tree = document.createElement("div");
    tree.className = "json-tree mono";
    tree.append(node(null, data, 0));
    const bar = document.createElement("div");
    bar.className = "toolbar jt-search";
    const input = document.createElement("input");
    input.type = "search";
    input.className = "text";
    input.placeholder = gettext("Search keys and values");
    input.setAttribute("aria-label", gettext("Search the inspect output"));
    const count = document.createElement("span");
    count.className = "muted jt-count";
    input.addEventListener("input", () => {
      const hits = search(tree, input.value);
      count.textContent = input.value.trim() ? interpolate(ngettext("%s match", "%s matches", hits), [hits]) : "";
    });
    bar.append(input, count);
    pre.hidden = true;
    pre.after(bar, tree);
  }

  function scan(root) { for (const pre of root.querySelectorAll("pre.json[data-tree]")) build(pre); }
  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (e) => scan(e.target));
})();
