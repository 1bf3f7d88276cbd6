/* ADE Review curation page: the keyboard and the current disagreement.
 *
 * j / k move to the next / previous disagreement (on to the next / previous page at either end); 1..9 take
 * that annotator's version, b both (every annotator's), n neither, e edit by hand in the editor; u undoes the
 * last decision, F finishes, ? shows the keys. A key presses the current disagreement's button: every change
 * is a server-rendered form (htmx for decisions), so mouse and keyboard do the same thing.
 *
 * Decisions pressed in quick succession queue behind each other (hx-sync on the list) and each is sent with
 * the curated set's version the page holds when it leaves, not when the key was pressed.
 */
(function () {
  "use strict";

  const root = document.getElementById("curation");
  const textEl = document.getElementById("note-text");
  if (!root || !textEl) return;

  htmx.config.defaultSettleDelay = 0;
  // Refused decisions (409 a stale version, 400 a conflict, 403 read-only) come back into #cur-flash.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "(400|403|404|409|422)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  let currentKey = null;

  function units() {
    return Array.from(document.querySelectorAll("#unit-list > li.unit"));
  }

  function version() {
    const v = document.getElementById("cur-version");
    return v ? v.value : "";
  }

  // The text of the current disagreement is highlighted in the note (a CSS highlight over exactly its
  // characters: nothing in the DOM changes) and scrolled into view. Only the segments it touches are
  // visited: a long note has thousands of leaves. Offsets are code points (data-s), JS strings count UTF-16.
  const canHighlight = window.CSS && CSS.highlights && window.Highlight;

  function leafAt(offset) {
    for (const seg of textEl.querySelectorAll(".seg")) {
      if (Number(seg.dataset.s) <= offset && offset <= Number(seg.dataset.e)) {
        let found = null;
        for (const leaf of seg.querySelectorAll("span.p")) {
          if (Number(leaf.dataset.s) <= offset) found = leaf;
          else break;
        }
        if (found) return found;
      }
    }
    return null;
  }

  function point(offset) {
    const leaf = leafAt(offset);
    if (!leaf || !leaf.firstChild) return null;
    const inLeaf = Array.from(leaf.textContent).slice(0, offset - Number(leaf.dataset.s)).join("").length;
    return [leaf.firstChild, Math.min(inLeaf, leaf.firstChild.length), leaf];
  }

  function markText(unit, scroll) {
    if (canHighlight) CSS.highlights.delete("cur-focus");
    textEl.querySelectorAll(".cur-focus").forEach((x) => x.classList.remove("cur-focus"));
    const s = Number(unit.dataset.start);
    const e = Number(unit.dataset.end);
    if (!(e > s)) return;
    const start = point(s);
    const end = point(e);
    if (!start || !end) return;
    if (canHighlight) {
      const range = document.createRange();
      range.setStart(start[0], start[1]);
      range.setEnd(end[0], end[1]);
      CSS.highlights.set("cur-focus", new Highlight(range));
    } else {
      start[2].classList.add("cur-focus");
    }
    if (scroll !== false) start[2].scrollIntoView({ block: "center" });
  }

  function focusUnit(index, scrollText) {
    const list = units();
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach((u) => u.classList.remove("current"));
    const unit = list[index];
    unit.classList.add("current");
    unit.focus({ preventScroll: true });
    unit.scrollIntoView({ block: "nearest" });
    currentKey = unit.dataset.key;
    root.dataset.current = currentKey;
    if (scrollText !== false) markText(unit);
  }

  function currentIndex() {
    return units().findIndex((u) => u.dataset.key === currentKey);
  }

  function press(choice) {
    const unit = units()[currentIndex()];
    const button = unit && unit.querySelector('button[data-choice="' + choice + '"]');
    if (!button) return false;
    button.click();
    return true;
  }

  function go(link) {
    const a = document.getElementById(link);
    if (!a) return false;
    window.location.href = a.href;
    return true;
  }

  function submitForm(id) {
    const form = document.getElementById(id);
    if (!form) return false;
    form.requestSubmit();
    return true;
  }

  // The version leaves with the request: htmx asks here when it sends (after any queued request before it).
  document.body.addEventListener("htmx:configRequest", (evt) => {
    if (root.contains(evt.detail.elt)) evt.detail.parameters.version = version();
  });
  // Plain forms (edit, undo, finish) carry the version the page holds now too.
  root.addEventListener("submit", (evt) => {
    const field = evt.target.elements && evt.target.elements.version;
    if (field && document.getElementById("cur-version")) field.value = version();
  }, true);
  // A decided disagreement comes back as a new element, with new text segments: it stays the current one.
  document.body.addEventListener("htmx:afterSettle", () => {
    const index = currentIndex();
    if (index >= 0) {
      const unit = units()[index];
      unit.classList.add("current");
      unit.focus({ preventScroll: true });
      markText(unit, false);
    }
  });
  document.getElementById("unit-list").addEventListener("click", (evt) => {
    const unit = evt.target.closest("li.unit");
    if (unit) focusUnit(units().indexOf(unit), !evt.target.closest("button"));
  });

  const help = document.getElementById("cur-help");
  document.getElementById("cur-help-btn").addEventListener("click", () => { help.hidden = !help.hidden; });

  document.addEventListener("keydown", (evt) => {
    const tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    const key = evt.key;
    let done = false;
    if (key === "j") {
      const i = currentIndex();
      done = i < units().length - 1 ? (focusUnit(i + 1), true) : go("cur-next");
    } else if (key === "k") {
      const i = currentIndex();
      done = i > 0 ? (focusUnit(i - 1), true) : go("cur-prev");
    } else if (/^[1-9]$/.test(key) || key === "b" || key === "n" || key === "e") {
      done = press(key);
    } else if (key === "u") {
      done = submitForm("cur-undo-form");
    } else if (key === "F") {
      done = submitForm("cur-finish-form");
    } else if (key === "?") {
      help.hidden = !help.hidden;
      done = true;
    } else if (key === "Escape" && !help.hidden) {
      help.hidden = true;
      done = true;
    }
    if (done) evt.preventDefault();
  });

  // Start on the disagreement the address names, the last one (coming back with k), or the first undecided.
  const list = units();
  if (list.length) {
    const hash = window.location.hash;
    let start = list.findIndex((u) => !u.classList.contains("decided"));
    if (hash === "#last") start = list.length - 1;
    else if (hash === "#first") start = 0;
    else if (hash.startsWith("#unit-")) start = Math.max(0, list.findIndex((u) => "#" + u.id === hash));
    focusUnit(start < 0 ? 0 : start, true);
  }
  document.documentElement.dataset.curationReady = "1";
  if (window.performance && performance.mark) performance.mark("curation-ready");
})();
