"""A corpus is data from outside: nothing in it may add an element, an htmx attribute or CSS to the page
(issue 13, findings 2 and 3). A brat corpus whose every string field holds `"'<>` and htmx attributes is
imported through the real import service and opened in headless Chromium by a member, who is also an
admin of another project that the injected htmx would have posted to."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from django.urls import reverse

from annotations.formats.document import FormatError
from annotations.formats.schema import VisualStyle
from annotations.models import AnnotationSet, Note, ProjectMembership
from annotations.services.corpus_import import corpus_import, project_get_or_create
from annotations.services.schemas import project_schema_get, project_schema_set

from .conftest import PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ANNOTATION_CONF = """[entities]
Drug
Adverse-Effect

[relations]
ADE\tArg1:Drug, Arg2:Adverse-Effect

[events]

[attributes]
Negation\tArg:Adverse-Effect
"""
# Labels are free text (shown escaped); colours and type names are checked on parse.
HOSTILE = """"'<> <i hx-post="/projects/other/models/1/activate/" hx-trigger="load" hx-vals='{"a":"b"}'>x</i>"""
VISUAL_CONF = f"""[labels]
Drug | Drug {HOSTILE} | D
Adverse-Effect | AE {HOSTILE} | AE

[drawing]
Drug\tbgColor:#7fa2ff
Adverse-Effect\tbgColor:tomato
"""
BAD_COLOURS = """[drawing]
Drug\tbgColor:red}#note-text{color:red}
Adverse-Effect\tbgColor:url(/p/other/notes/5/)
"""
TEXT = f"Aspirin caused a rash. {HOSTILE} {{{{ csrf_token }}}} `${{x}}`\n"
GOOD_ANN = (
    "T1\tDrug 0 7\tAspirin\n"
    "T2\tAdverse-Effect 17 21\trash\n"
    "R1\tADE Arg1:T1 Arg2:T2\n"
    "A1\tNegation T2\n"
    f"N1\tReference T1 RxNorm:\"'<>\t{HOSTILE}\n"
    f"#1\tAnnotatorNotes T2\t{HOSTILE}\n"
)
EVIL_ANN = 'T1\tDrug 0 7\tAspirin\nT"><i/hx-trigger="load"/x=\tAdverse-Effect 17 21\trash\n'


def write_corpus(folder, visual_conf):
    folder.mkdir()
    (folder / "annotation.conf").write_text(ANNOTATION_CONF, "utf-8")
    (folder / "visual.conf").write_text(visual_conf, "utf-8")
    for stem, ann in (("""note"'<i>""", GOOD_ANN), ("evil", EVIL_ANN)):
        (folder / f"{stem}.txt").write_text(TEXT, "utf-8")
        (folder / f"{stem}.ann").write_text(ann, "utf-8")
    return folder


@pytest.fixture
def hostile(django_user_model, tmp_path):
    """Project `victim` with the hostile corpus imported, a member who is also admin of project `other`."""
    victim = project_get_or_create(slug="victim", name="Victim")
    other = project_get_or_create(slug="other", name="Other")
    user = django_user_model.objects.create_user(username="member", password=PASSWORD)
    ProjectMembership.objects.create(project=victim, user=user, role="annotator")
    ProjectMembership.objects.create(project=other, user=user, role="admin")

    # A visual.conf whose colours carry CSS is refused whole, with file:line, before any note is read.
    with pytest.raises(FormatError) as refused:
        corpus_import(project=victim, path=write_corpus(tmp_path / "bad", VISUAL_CONF + BAD_COLOURS), fmt="brat")
    assert "visual.conf:9: Drug: colour 'red}#note-text{color:red}' is not #rgb, #rrggbb" in str(refused.value)
    assert "visual.conf:10: Adverse-Effect: colour 'url(/p/other/notes/5/)'" in str(refused.value)
    assert not Note.objects.filter(project=victim).exists()

    report = corpus_import(project=victim, path=write_corpus(tmp_path / "good", VISUAL_CONF), fmt="brat")
    assert report.imported == 1 and report.skipped_documents == 1
    # The injected id was refused at import with its file and line: the document is skipped whole.
    assert [str(p) for p in report.skipped] == [
        "evil.ann:2: entity id 'T\"><i/hx-trigger=\"load\"/x=' may hold only letters, digits and _ # * . - (at most 32)"
    ]
    # A schema stored before colours were checked: the editor's stylesheet must still emit only colours.
    schema = project_schema_get(project=victim)
    legacy = {**schema.visual, "Drug": VisualStyle(label=schema.visual["Drug"].label, colour="red}#note-text{color:red}"),
              "Adverse-Effect": VisualStyle(label=schema.visual["Adverse-Effect"].label, colour="url(/p/other/notes/5/)")}
    project_schema_set(project=victim, schema=replace(schema, visual=legacy), inferred=False)
    note = Note.objects.get(project=victim)
    imported = AnnotationSet.objects.get(note=note, source_kind="import")
    return {"note": note, "imported": imported}


# Every hx-* attribute on the page, and everything inside the containers of corpus data.
AUDIT_JS = """() => {
  const hx = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^(data-)?hx-/.test(a.name)) hx.push([el.tagName, el.id, a.name, a.value]);
    }
  }
  const inside = [];
  for (const el of document.querySelectorAll('#note-text *, .rels *, .note-head *, #entity-panel .quote *')) {
    for (const a of el.attributes) if (!['class', 'data-id', 'data-l', 'data-s', 'data-e', 'id', 'data-a1', 'data-a2'].includes(a.name)) inside.push([el.tagName, a.name]);
  }
  const style = Array.from(document.querySelectorAll('style')).map((s) => s.textContent).join('');
  return {hx, inside, italics: document.querySelectorAll('i').length, style,
          colour: getComputedStyle(document.getElementById('note-text')).color};
}"""
CSP_JS = """window.__csp = []; document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));"""


def check_page(page, requests):
    found = page.evaluate(AUDIT_JS)
    assert found["italics"] == 0  # no element from the data
    assert found["inside"] == []  # no attribute from the data inside the containers of corpus data
    for tag, el_id, name, value in found["hx"]:
        assert name not in ("hx-vals", "hx-vars", "hx-on", "data-hx-vals"), (tag, el_id, name)
        assert "other" not in value and "load" not in value, (tag, el_id, name, value)
        if name in ("hx-post", "hx-get"):
            # The project's own addresses, or the site's fixed term look-up (the normalization field's).
            assert (value.startswith("/projects/victim/") or value.startswith("?")
                    or value == reverse("terminology-lookup")), (tag, name, value)
    assert "note-text{" not in found["style"] and "url(" not in found["style"]
    assert found["colour"] != "rgb(255, 0, 0)"
    assert page.evaluate("() => window.__csp") == []  # nothing the policy had to block
    assert [u for u in requests if "/other/" in u] == []


def test_a_hostile_corpus_adds_no_element_attribute_css_or_request_to_the_editor(browser, live_server, hostile):
    note, imported = hostile["note"], hostile["imported"]
    page = login(browser, live_server, "member")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script(CSP_JS)

    # The imported annotations, read-only: every string field of the corpus is on this page.
    page.goto(f"{live_server.url}/projects/victim/notes/{note.pk}/?set={imported.pk}")
    page.wait_for_selector("html[data-editor-ready]")
    page.wait_for_timeout(500)  # a hx-trigger="load" would have fired by now
    text = page.inner_text("#note-text")
    assert HOSTILE in text and "{{ csrf_token }}" in text  # shown as text, not markup
    assert page.locator("#note-text [data-id=T1]").count() == 1
    assert HOSTILE in page.locator("#note-text .e.b").first.get_attribute("data-l")
    assert page.locator(".rels li.rel").count() == 1
    check_page(page, requests)

    # The entity panel (attributes, normalization, the note's text) through the editor's own htmx.
    page.click("#note-text [data-id=T1]")
    page.wait_for_selector('#entity-panel[data-entity="T1"]')
    page.click("#note-text [data-id=T2]")
    page.wait_for_selector('#entity-panel[data-entity="T2"]')
    check_page(page, requests)

    # The member's own editor: a GET creates no set and shows the imported annotations (issue 14); "Correct
    # these" makes the member's copy, with the hostile labels on the type buttons; the first edit still works
    # from outside the hx-disabled text.
    sets = AnnotationSet.objects.count()
    page.goto(f"{live_server.url}/projects/victim/notes/{note.pk}/")
    page.wait_for_selector("html[data-editor-ready]")
    assert AnnotationSet.objects.count() == sets
    check_page(page, requests)
    page.click("#correct-btn")
    page.wait_for_selector("html[data-editor-ready] #type-toolbar")
    assert HOSTILE in page.inner_text(".type-btn[data-type=Drug]")
    page.evaluate("""() => { const leaf = document.querySelector('#note-text span.p'); const r = document.createRange();
      r.setStart(leaf.firstChild, 0); r.setEnd(leaf.firstChild, 7); getSelection().removeAllRanges(); getSelection().addRange(r); }""")
    page.click(".type-btn[data-type=Drug]")
    page.wait_for_selector('#entity-panel[data-entity="T3"]')
    assert AnnotationSet.objects.filter(note=note, user__username="member").get().version == 2
    page.wait_for_timeout(300)
    check_page(page, requests)
    page.context.close()
