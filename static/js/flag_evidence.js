// Highlight the stored evidence of a flagged note (#flag-evidence's code-point offsets) in #note-text with
// the CSS Custom Highlight API: no element is added or split, so the editor's leaves and offsets are
// untouched. Applied again after every htmx swap (the editor re-renders the text).
(function () {
  const info = document.getElementById("flag-evidence");
  if (!info || !window.CSS || !CSS.highlights || typeof Highlight === "undefined") return;
  const start = Number(info.dataset.start), end = Number(info.dataset.end);
  // A code-point offset as (text node, UTF-16 offset) in the leaf holding it; `before` picks the leaf that
  // ends at the offset rather than the one starting there.
  function position(leaves, offset, before) {
    let leaf = null;
    for (const l of leaves) {
      const s = Number(l.dataset.s);
      if (s < offset || (!before && s === offset)) leaf = l; else break;
    }
    if (!leaf || !leaf.firstChild) return null;
    const node = leaf.firstChild;
    const units = Array.from(node.data).slice(0, offset - Number(leaf.dataset.s)).join("").length;
    return [node, Math.min(units, node.data.length)];
  }
  function apply() {
    const leaves = Array.from(document.querySelectorAll("#note-text span.p"));
    const a = position(leaves, start, false), b = position(leaves, end, true);
    if (!a || !b) return;
    const range = new Range();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    CSS.highlights.set("ade-evidence", new Highlight(range));
  }
  apply();
  document.body.addEventListener("htmx:afterSettle", apply);
})();
