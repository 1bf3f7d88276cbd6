/* ADE Review note editor: text selection to code-point offsets, entity/relation picking, shortcuts.
 *
 * Everything that changes data is an htmx request from a server-rendered form; this file only turns a
 * mouse or keyboard selection into offsets and presses the right form's button.
 *
 * Offsets: the server counts Unicode code points; JS strings count UTF-16 units, so an astral character
 * (an emoji, a rare CJK ideograph) is 2 units but 1 code point. Every text leaf in #note-text carries
 * data-s, its code-point offset, and offsets inside a leaf are converted with cpLen().
 */
(function () {
  "use strict";

  const editor = document.getElementById("editor");
  const textEl = document.getElementById("note-text");
  if (!editor || !textEl) return;

  // Settle in the same task as the swap: a key pressed right after a swap must find the new panel's
  // forms already bound to htmx (else the browser would submit them itself, without the version).
  htmx.config.defaultSettleDelay = 0;

  // Swap refused edits (409 conflict, 400 invalid, 403 read-only) into #flash instead of dropping them.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "(400|403|404|409|422)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  const editable = editor.classList.contains("editable");
  const cps = Array.from(textEl.textContent); // the note as code points
  let leaves = [];
  let lastSel = null; // [start, end] in code points
  let selectedId = null;
  let selectedRelation = null; // local id of the relation whose panel is open (p walks through them too)
  let selectedEvent = null; // local id of the event whose panel is open
  let relationHead = null;
  let tokens = null;
  let kbAnchor = null;
  let kbFocus = null;

  function cpLen(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
      n++;
    }
    return n;
  }

  function indexLeaves() {
    leaves = Array.from(textEl.querySelectorAll("span.p"));
  }

  function flash(message, level) {
    const el = document.getElementById("flash");
    if (el) {
      el.textContent = message;
      el.className = "flash " + (level || "info");
    }
  }

  // A DOM point (node, offset) as a code-point offset into the note.
  function pointToOffset(node, offset) {
    if (node.nodeType === Node.TEXT_NODE && node.parentElement && node.parentElement.classList.contains("p")) {
      return Number(node.parentElement.dataset.s) + cpLen(node.data.slice(0, offset));
    }
    const range = document.createRange();
    range.setStart(textEl, 0);
    try {
      range.setEnd(node, offset);
    } catch (e) {
      return null;
    }
    return cpLen(range.toString());
  }

  // A code-point offset as a DOM point inside a text leaf.
  function offsetToPoint(offset) {
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Number(leaves[mid].dataset.s) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const leaf = leaves[lo];
    const node = leaf.firstChild || leaf;
    const within = offset - Number(leaf.dataset.s);
    const units = Array.from(node.data || "").slice(0, within).join("").length;
    return [node, units];
  }

  function trimmed(start, end) {
    while (start < end && /\s/u.test(cps[start])) start++;
    while (end > start && /\s/u.test(cps[end - 1])) end--;
    return start < end ? [start, end] : null;
  }

  function currentSelection() {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && !sel.isCollapsed) {
      const r = sel.getRangeAt(0);
      if (textEl.contains(r.commonAncestorContainer)) {
        const s = pointToOffset(r.startContainer, r.startOffset);
        const e = pointToOffset(r.endContainer, r.endOffset);
        if (s !== null && e !== null) return trimmed(Math.min(s, e), Math.max(s, e));
      }
    }
    return null;
  }

  document.addEventListener("selectionchange", function () {
    const s = currentSelection();
    if (s) lastSel = s;
  });

  function showSelection(start, end) {
    const [n1, o1] = offsetToPoint(start);
    const [n2, o2] = offsetToPoint(end);
    const range = document.createRange();
    range.setStart(n1, o1);
    range.setEnd(n2, o2);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    lastSel = [start, end];
    const el = n1.parentElement;
    if (el && el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
  }

  function clearSelection() {
    const sel = window.getSelection();
    if (sel) sel.removeAllRanges();
    lastSel = null;
    kbAnchor = kbFocus; // the keyboard caret stays where it was
  }

  textEl.addEventListener("mouseup", function () {
    kbAnchor = kbFocus = null; // the mouse moved the caret
  });

  // Forms that need the selection (create entity, add fragment) get it just before htmx reads them.
  document.addEventListener(
    "submit",
    function (evt) {
      const form = evt.target;
      if (!form.hasAttribute || !form.hasAttribute("data-needs-selection")) return;
      const sel = currentSelection() || lastSel;
      form.querySelector("input[name=spans]").value = sel ? sel[0] + "-" + sel[1] : "";
    },
    true
  );

  function createEntity(type) {
    if (!editable) return;
    const sel = currentSelection() || lastSel;
    if (!sel) {
      flash("Select some text first (mouse, or Shift+arrows).", "error");
      return;
    }
    const form = document.getElementById("create-form");
    form.querySelector("input[name=type]").value = type;
    form.requestSubmit();
  }

  // --- entity selection -------------------------------------------------------------------------------

  function entityUrl(id) {
    return editor.dataset.entityUrl.replace("LOCALID", encodeURIComponent(id));
  }

  // A selector for an entity's spans; the id is escaped (ids come from corpora and from the server).
  function byId(id) {
    return '[data-id="' + CSS.escape(id) + '"]';
  }

  function markSelected() {
    textEl.querySelectorAll(".e.sel").forEach((el) => el.classList.remove("sel"));
    if (selectedId) textEl.querySelectorAll(byId(selectedId)).forEach((el) => el.classList.add("sel"));
  }

  // --- events: the list, the selected event's trigger (.trg) and arguments (.evarg) marked in the text ----

  function eventUrl(id) {
    return editor.dataset.eventUrl.replace("LOCALID", encodeURIComponent(id));
  }

  function markEvent(id) {
    textEl.querySelectorAll(".e.trg, .e.evarg").forEach((el) => el.classList.remove("trg", "evarg"));
    document.querySelectorAll("#events li.ev.sel").forEach((el) => el.classList.remove("sel"));
    const li = id ? document.getElementById("ev-" + id) : null;
    if (!li) return null;
    li.classList.add("sel");
    const ids = (li.dataset.hl || "").split(" ").filter(Boolean);
    ids.forEach(function (x, i) {
      textEl.querySelectorAll(byId(x)).forEach((el) => el.classList.add(i === 0 ? "trg" : "evarg"));
    });
    return li;
  }

  function selectEvent(id) {
    selectedId = null;
    selectedRelation = null;
    selectedEvent = id;
    markSelected();
    const li = markEvent(id);
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    const trigger = textEl.querySelector(".e.trg");
    if (trigger && trigger.scrollIntoView) trigger.scrollIntoView({ block: "nearest" });
    htmx.ajax("GET", eventUrl(id), { target: "#entity-panel", swap: "outerHTML" });
  }

  function openRelationForm(head, tail) {
    const url = editor.dataset.relationUrl + "&head=" + encodeURIComponent(head) + "&tail=" + encodeURIComponent(tail);
    relationHead = null;
    editor.classList.remove("relating");
    htmx.ajax("GET", url, { target: "#entity-panel", swap: "outerHTML" });
  }

  // confirm: a click picks a relation's other end at once; j/k only move to it (l confirms).
  function selectEntity(id, confirm) {
    if (relationHead && relationHead !== id) {
      selectedId = id;
      markSelected();
      if (confirm) openRelationForm(relationHead, id);
      else flash("Relation from " + relationHead + " to " + id + "? Press l to choose its type, Esc to cancel.", "info");
      return;
    }
    selectedId = id;
    selectedEvent = null;
    markEvent(null);
    markSelected();
    const first = textEl.querySelector(byId(id));
    if (first && first.scrollIntoView) first.scrollIntoView({ block: "nearest" });
    htmx.ajax("GET", entityUrl(id), { target: "#entity-panel", swap: "outerHTML" });
  }

  function entityOrder(pendingOnly) {
    const seen = new Set();
    const out = [];
    textEl.querySelectorAll(pendingOnly ? ".e.pre.b" : ".e.b").forEach(function (el) {
      if (!seen.has(el.dataset.id)) {
        seen.add(el.dataset.id);
        out.push(el.dataset.id);
      }
    });
    return out;
  }

  function relationPanelUrl(id) {
    return editor.dataset.relationPanelUrl.replace("LOCALID", encodeURIComponent(id));
  }

  // A relation's panel (accept / reject / delete it); its list item is marked as the one selected.
  function selectRelation(id) {
    selectedId = null;
    selectedRelation = id;
    markSelected();
    document.querySelectorAll("#relations li.rel.sel").forEach((el) => el.classList.remove("sel"));
    const li = document.getElementById("rel-" + id);
    if (li) {
      li.classList.add("sel");
      if (li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    }
    htmx.ajax("GET", relationPanelUrl(id), { target: "#entity-panel", swap: "outerHTML" });
  }

  // p: the pending pre-labels in order, the entities (in text order) and then the relations, which
  // submit waits for as much as for the entities.
  function stepPending() {
    const items = entityOrder(true).map((id) => ["e", id]);
    document.querySelectorAll("#relations li.rel.pre").forEach((li) => items.push(["r", li.dataset.id]));
    if (!items.length) return flash("No pending pre-labels.", "info");
    const current = selectedRelation || selectedId;
    let i = items.findIndex((item) => item[1] === current);
    i = i < 0 ? 0 : (i + 1) % items.length;
    if (items[i][0] === "e") {
      selectedRelation = null;
      selectEntity(items[i][1]);
    } else selectRelation(items[i][1]);
  }

  function step(delta, pendingOnly) {
    const ids = entityOrder(pendingOnly);
    if (!ids.length) {
      flash(pendingOnly ? "No pending pre-labels." : "No entities yet.", "info");
      return;
    }
    let i = ids.indexOf(selectedId);
    i = i < 0 ? (delta > 0 ? 0 : ids.length - 1) : (i + delta + ids.length) % ids.length;
    selectEntity(ids[i]);
  }

  textEl.addEventListener("click", function (evt) {
    if (currentSelection()) return; // a drag that selected text, not a click
    const el = evt.target.closest(".e");
    if (el) selectEntity(el.dataset.id, true);
  });

  function startRelation() {
    if (!selectedId) {
      flash("Select the head entity first.", "error");
      return;
    }
    relationHead = selectedId;
    editor.classList.add("relating");
    flash("Relation from " + relationHead + ": pick the other entity (click, or j/k then l).", "info");
  }

  editor.addEventListener("click", function (evt) {
    const t = evt.target.closest("button, a");
    if (!t) return;
    if (t.classList.contains("type-btn")) createEntity(t.dataset.type);
    else if (t.id === "relation-start-btn") startRelation();
    else if (t.id === "relation-cancel") cancel();
    else if (t.id === "help-btn") toggleHelp(true);
    else if (t.id === "help-close") toggleHelp(false);
    else if (t.dataset.goto) {
      evt.preventDefault();
      selectEntity(t.dataset.goto, true);
    } else if (t.dataset.ev) {
      evt.preventDefault();
      selectEvent(t.dataset.ev);
    }
  });

  // A click on a relation in the list opens its panel (accept / reject / delete).
  editor.addEventListener("click", function (evt) {
    const goto = evt.target.closest("a.rel-goto");
    if (goto) {
      evt.preventDefault();
      return selectRelation(goto.dataset.rel);
    }
    const ev = evt.target.closest("li.ev");
    if (ev && !evt.target.closest("button, a")) return selectEvent(ev.dataset.id);
    const li = evt.target.closest("li.rel");
    if (!li || evt.target.closest("button, a")) return;
    selectRelation(li.dataset.id);
  });

  // Hovering a relation highlights its two arguments in the text, an event its trigger and arguments, and
  // one fragment of a discontinuous entity all of its fragments.
  editor.addEventListener("mouseover", function (evt) {
    const li = evt.target.closest("li.rel, li.ev");
    const frag = li ? null : evt.target.closest("#note-text .e.frag");
    textEl.querySelectorAll(".e.hl").forEach((el) => el.classList.remove("hl"));
    let ids = [];
    if (li && li.classList.contains("rel")) ids = [li.dataset.a1, li.dataset.a2];
    else if (li) ids = (li.dataset.hl || "").split(" ").filter(Boolean);
    else if (frag) ids = [frag.dataset.id];
    ids.forEach(function (id) {
      textEl.querySelectorAll(byId(id)).forEach((el) => el.classList.add("hl"));
    });
  });

  // --- the type picker: type-ahead over any number of types ----------------------------------------------

  const typeFilter = document.getElementById("type-filter");

  function matchingTypes() {
    const q = typeFilter.value.trim().toLowerCase();
    const buttons = Array.from(document.querySelectorAll("#type-toolbar .type-btn"));
    if (!q) return buttons;
    const text = (b) => ((b.dataset.label || "") + " " + b.dataset.type).toLowerCase();
    // Names that start with what was typed come first, then the others that contain it.
    const starts = buttons.filter((b) => text(b).split(/[\s_-]+/).some((w) => w.startsWith(q)) || text(b).startsWith(q));
    return starts.concat(buttons.filter((b) => !starts.includes(b) && text(b).includes(q)));
  }

  function filterTypes() {
    const shown = new Set(matchingTypes());
    document.querySelectorAll("#type-toolbar .type-btn").forEach(function (b) {
      b.hidden = !shown.has(b);
      b.classList.remove("first");
    });
    const first = matchingTypes()[0];
    if (first && typeFilter.value.trim()) first.classList.add("first");
  }

  function resetTypeFilter() {
    typeFilter.value = "";
    filterTypes();
    typeFilter.blur();
  }

  if (typeFilter) {
    typeFilter.addEventListener("input", filterTypes);
    typeFilter.addEventListener("keydown", function (evt) {
      if (evt.key === "Enter") {
        evt.preventDefault();
        const first = matchingTypes()[0];
        if (!first) return flash("No type matches “" + typeFilter.value + "”.", "error");
        resetTypeFilter();
        createEntity(first.dataset.type);
      } else if (evt.key === "Escape") resetTypeFilter();
    });
  }

  // --- keyboard ---------------------------------------------------------------------------------------

  function tokenize() {
    const word = /[\p{L}\p{N}]/u;
    const out = [];
    let i = 0;
    while (i < cps.length) {
      if (/\s/u.test(cps[i])) {
        i++;
        continue;
      }
      const s = i;
      if (word.test(cps[i])) while (i < cps.length && word.test(cps[i])) i++;
      else i++;
      out.push([s, i]);
    }
    return out;
  }

  function moveToken(delta, extend) {
    if (!tokens) tokens = tokenize();
    if (!tokens.length) return;
    if (kbFocus === null) {
      const from = lastSel ? lastSel[1] : 0;
      let i = tokens.findIndex((t) => t[0] >= from);
      if (i < 0) i = tokens.length - 1;
      kbAnchor = kbFocus = i;
      delta = 0;
    }
    kbFocus = Math.min(Math.max(kbFocus + delta, 0), tokens.length - 1);
    if (!extend) kbAnchor = kbFocus;
    const a = tokens[Math.min(kbAnchor, kbFocus)];
    const b = tokens[Math.max(kbAnchor, kbFocus)];
    showSelection(a[0], b[1]);
  }

  function press(id) {
    const el = document.getElementById(id);
    if (!el) return flash("Not available here.", "info");
    const form = el.closest("form");
    if (form) htmx.process(form); // idempotent; makes sure htmx, not the browser, submits it
    el.click();
  }

  function toggleHelp(show) {
    const help = document.getElementById("help");
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  function cancel() {
    relationHead = null;
    editor.classList.remove("relating");
    toggleHelp(false);
    if (document.querySelector("#entity-panel.relation-form") && selectedId) selectEntity(selectedId);
  }

  document.addEventListener("keydown", function (evt) {
    const tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    const key = evt.key;
    if (key === "?") return toggleHelp(), evt.preventDefault();
    if (key === "Escape") return cancel();
    if (key === "ArrowRight" || key === "ArrowLeft") {
      evt.preventDefault();
      return moveToken(key === "ArrowRight" ? 1 : -1, evt.shiftKey);
    }
    if (key === "j" || key === "k") return step(key === "j" ? 1 : -1, false);
    if (key === "p") return stepPending();
    if (!editable) {
      // A submitted set is read-only until reopened: say so rather than ignore the key.
      if (editor.dataset.submitted && /^([1-9]|[arAfbylouzst]|Delete)$/.test(key)) {
        flash("Submitted — reopen to edit (the Reopen button).", "info");
      }
      return;
    }
    if (/^[1-9]$/.test(key)) {
      evt.preventDefault();
      const option = document.querySelector('#entity-panel.relation-form .rel-option[data-key="' + key + '"]');
      if (option) {
        htmx.process(option.closest("form"));
        return option.click();
      }
      const btn = document.querySelector('.type-btn[data-key="' + key + '"]');
      if (btn) createEntity(btn.dataset.type);
      return;
    }
    const actions = {
      a: "accept-btn",
      r: "reject-btn",
      A: "accept-type-btn",
      f: "add-fragment-btn",
      Delete: "delete-btn",
      y: "verdict-ade",
      o: "verdict-no-ade",
      u: "verdict-uncertain",
      z: "undo-btn",
      s: "submit-btn",
    };
    if ((key === "t" || key === "/") && typeFilter) {
      evt.preventDefault();
      return typeFilter.focus();
    }
    if (key === "b") {
      const btn = document.querySelector("#entity-panel [data-binary-attr]");
      if (!btn) return flash("The selected entity has no yes/no attribute.", "info");
      htmx.process(btn.closest("form"));
      return btn.click();
    }
    if (key === "l") {
      if (relationHead && selectedId && selectedId !== relationHead) return openRelationForm(relationHead, selectedId);
      return startRelation();
    }
    if (actions[key]) {
      evt.preventDefault();
      // A model relation's panel offers Reject where a person's offers Delete.
      if (key === "Delete" && !document.getElementById("delete-btn") && document.getElementById("reject-btn")) {
        return press("reject-btn");
      }
      press(actions[key]);
    }
  });

  // --- after every swap ---------------------------------------------------------------------------------

  document.body.addEventListener("htmx:afterSettle", function (evt) {
    indexLeaves();
    const panel = document.getElementById("entity-panel");
    if (panel && !panel.classList.contains("relation-form")) {
      selectedId = panel.dataset.entity || null;
      if (selectedId) selectedRelation = null;
      markSelected();
      // The event list may have been swapped: mark the open event's trigger and arguments again.
      selectedEvent = panel.dataset.event || null;
      markEvent(selectedEvent);
    }
    const cfg = evt.detail.requestConfig;
    if (cfg && /entity-create\/$/.test(cfg.path || "") && evt.detail.xhr && evt.detail.xhr.status === 200) {
      clearSelection();
    }
  });

  indexLeaves();
  // Usable = handlers in place and the first frame laid out and painted.
  requestAnimationFrame(function () {
    setTimeout(function () {
      document.documentElement.dataset.editorReady = "1";
      if (window.performance && performance.mark) performance.mark("editor-ready");
    }, 0);
  });
})();
