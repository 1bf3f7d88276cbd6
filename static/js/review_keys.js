// The reviewer's keyboard path on a note page: Shift+C confirms, Shift+O overturns (the comment box takes
// the reason, Ctrl+Enter decides), Shift+N opens the next flagged note. Keys are upper case so they never
// collide with the editor's (static/js/editor.js); nothing happens while typing in a field.
(function () {
  "use strict";
  function form() {
    return document.getElementById("sign-off-form") || document.getElementById("decide-form");
  }
  function decide(value) {
    const f = form();
    if (!f) return false;
    f.querySelector('input[name="decision"][value="' + value + '"]').checked = true;
    if (value === "overturn") {
      const comment = f.querySelector("textarea[name=comment]");
      comment.focus();
      return true; // the reason first; Ctrl+Enter sends
    }
    f.requestSubmit();
    return true;
  }
  document.addEventListener("keydown", function (evt) {
    const tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "textarea" && evt.target.id === "sign-off-comment" && evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
      evt.preventDefault();
      evt.target.form.requestSubmit();
      return;
    }
    if (tag === "input" || tag === "textarea" || tag === "select" || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.key === "C" && decide("confirm")) evt.preventDefault();
    else if (evt.key === "O" && decide("overturn")) evt.preventDefault();
    else if (evt.key === "N") {
      const next = document.getElementById("next-flagged");
      if (next) { evt.preventDefault(); window.location.href = next.href; }
    }
  });
})();
