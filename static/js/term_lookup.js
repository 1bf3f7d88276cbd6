// Term look-up suggestions (templates/terminology/_suggestions.html): a click on one fills the fields its
// [data-term-lookup] container names (CSS selectors in data-fill-*) and tells the page with a "term:picked"
// event on the container, so any form (the editor's normalization, the case form) can take a code without
// its own script. Values are set as text (input .value), never as HTML.
(function () {
  "use strict";
  const FILLS = {
    fillCode: (d) => d.code,
    fillText: (d) => d.text,
    fillPtCode: (d) => d.ptCode,
    fillPtText: (d) => d.ptText,
    fillVersion: (d) => d.version,
    fillSystem: (d) => d.system,
    fillNorm: (d) => d.resource + ":" + d.code,
  };

  document.addEventListener("click", function (evt) {
    const button = evt.target.closest ? evt.target.closest(".term-suggestion") : null;
    if (!button) return;
    const box = button.closest("[data-term-lookup]");
    if (!box) return;
    evt.preventDefault();
    const d = button.dataset;
    const scope = box.closest("form, section, .panel") || document;
    for (const [key, value] of Object.entries(FILLS)) {
      const selector = box.dataset[key];
      if (!selector) continue;
      const field = scope.querySelector(selector) || document.querySelector(selector);
      if (field) {
        field.value = value(d);
        field.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    const results = box.querySelector(".term-results");
    if (results) results.textContent = "";
    box.dispatchEvent(new CustomEvent("term:picked", {
      bubbles: true,
      detail: {
        system: d.system, resource: d.resource, code: d.code, text: d.text, level: d.level,
        ptCode: d.ptCode, ptText: d.ptText, version: d.version,
      },
    }));
    const next = box.dataset.focusAfter && (scope.querySelector(box.dataset.focusAfter) || document.querySelector(box.dataset.focusAfter));
    if (next) next.focus();
  });
})();
