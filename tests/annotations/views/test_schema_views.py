"""The schema page: members read it, admins change display names and colours (the row swaps), rename or merge
types after seeing what it rewrites, and edit annotation.conf / visual.conf with file:line problems, the
orphan counts and a live toolbar preview. Names, labels and colours are hostile: escaped or refused, and
colours reach the page only through stylesheets (no style attribute, no inline <style> without the nonce)."""

from __future__ import annotations

import re

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
from annotations.models import AnnotationSchema, Entity
from annotations.services.schema_editing import schema_type_style_set
from annotations.services.schemas import project_schema_get

pytestmark = pytest.mark.django_db

PAGE = "/projects/ui/schema/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _as(client, ui, role):
    client.force_login(ui["users"][role])
    return client


def _style_tags(html: str) -> list[str]:
    return re.findall(r"<style[^>]*>", html)


def test_members_read_the_schema_with_hierarchy_rules_names_and_use(client, ui):
    response = _as(client, ui, "annotator").get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<code>Adverse-Effect</code>' in html and "Adverse effect" in html  # the name and its display name
    assert "Arg1: Drug → Arg2: Adverse-Effect" in html
    assert "certain | possible" in html.replace("probable | ", "")
    # The model's pre-labels: two Drug entities and one Adverse-Effect in one note.
    assert re.search(r"<code>Drug</code>.*?2 in 1 note<", html, re.S)
    assert "project-schema-style" not in html and 'action="/projects/ui/schema/style/"' not in html  # no forms
    assert 'href="/projects/ui/schema/conf/"' not in html


def test_admins_get_a_form_per_type_and_the_conf_link(client, ui):
    html = _as(client, ui, "admin").get(PAGE).content.decode()
    assert html.count('action="/projects/ui/schema/style/"') == 3 + 2 + 2  # entity, relation, attribute types
    assert html.count('action="/projects/ui/schema/rename/"') == 7
    assert 'href="/projects/ui/schema/conf/"' in html


def test_the_dashboard_links_the_schema_page(client, ui):
    assert 'href="/projects/ui/schema/"' in _as(client, ui, "annotator").get("/projects/ui/").content.decode()


@pytest.mark.parametrize("role,status", [("outsider", 404), ("annotator", 403), ("reviewer", 403)])
def test_only_admins_change_the_schema(client, ui, role, status):
    client = _as(client, ui, role)
    assert client.post("/projects/ui/schema/style/", {"kind": "entity", "name": "Drug", "colour": "red"}).status_code == status
    assert client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "X", "confirm": "1"}
                       ).status_code == status
    assert client.get("/projects/ui/schema/conf/").status_code == status
    assert client.post("/projects/ui/schema/conf/preview/", {"annotation_conf": "[entities]\nX\n"}).status_code == status
    assert project_schema_get(project=ui["project"]).visual["Drug"].colour == "#8fb8ff"
    assert Entity.objects.filter(type="Drug").count() == 2


def test_outsiders_do_not_see_the_schema_page(client, ui):
    assert _as(client, ui, "outsider").get(PAGE).status_code == 404


def test_the_page_styles_types_only_through_its_nonced_stylesheet(client, ui):
    response = _as(client, ui, "admin").get(PAGE)
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert _style_tags(html) == [f'<style nonce="{nonce}">']
    assert '.swatch[data-t="Drug"],.type-btn[data-type="Drug"]{--c:#8fb8ff}' in html
    assert not re.search(r"<[^>]+\sstyle\s*=", html)


def test_a_hostile_display_name_is_escaped_everywhere(client, ui):
    hostile = '<img src=x onerror=alert(1)>"'
    schema_type_style_set(project=ui["project"], by=ui["users"]["admin"], name="Drug", label=hostile, colour="red")
    html = _as(client, ui, "admin").get(PAGE).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;" in html
    conf = client.get("/projects/ui/schema/conf/").content.decode()
    assert "<img src=x" not in conf and "&lt;img src=x" in conf


def test_saving_a_display_name_and_colour_swaps_the_row_with_a_stylesheet_of_the_new_colours(client, ui):
    client = _as(client, ui, "admin")
    response = client.post("/projects/ui/schema/style/", {"kind": "entity", "name": "Dose", "label": "Dosage",
                                                          "colour": "#123abc"}, **HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith('<tr class="type-row saved"') and "Dosage" in row and "#123abc" in row
    css_url = re.search(r'<link rel="stylesheet" href="(/projects/ui/schema/colours\.css\?v=\d+)">', row).group(1)
    css = client.get(css_url)
    assert css["Content-Type"].startswith("text/css")
    assert '.swatch[data-t="Dose"],.type-btn[data-type="Dose"]{--c:#123abc}' in css.content.decode()
    assert project_schema_get(project=ui["project"]).display_name("Dose") == "Dosage"
    assert AuditEvent.objects.filter(action=AuditAction.SCHEMA_CHANGE, details__type="Dose").exists()


def test_a_hostile_colour_is_refused_in_the_row_and_nothing_is_saved(client, ui):
    client = _as(client, ui, "admin")
    hostile = "red}#note-text{background:url(//evil)"
    response = client.post("/projects/ui/schema/style/", {"kind": "entity", "name": "Dose", "label": "",
                                                          "colour": hostile}, **HTMX)
    assert response.status_code == 200  # htmx swaps 200s: the row comes back with the error
    row = response.content.decode()
    assert "is not a colour" in row and "<details open>" in row
    assert 'value="red}#note-text{background:url(//evil)"' in row  # what was typed, escaped, to correct
    assert project_schema_get(project=ui["project"]).visual["Dose"].colour == "#c7e9a0"


def test_a_rename_first_shows_what_it_will_rewrite_then_rewrites_it(client, ui):
    client = _as(client, ui, "admin")
    check = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "Medicine"}, **HTMX)
    assert check.status_code == 200
    html = check.content.decode()
    assert '<strong class="rename-counts">2 entities in 1 note</strong>' in html
    assert 'name="confirm" value="1"' in html
    assert Entity.objects.filter(type="Drug").count() == 2  # nothing yet

    done = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "Medicine",
                                                       "confirm": "1"}, **HTMX)
    assert done.status_code == 204 and done["HX-Redirect"] == PAGE
    assert Entity.objects.filter(type="Medicine").count() == 2 and not Entity.objects.filter(type="Drug").exists()
    page = client.get(PAGE).content.decode()
    assert "Drug renamed to Medicine: 2 entities in 1 note rewritten." in page
    assert "<code>Medicine</code>" in page


def test_a_merge_says_so_and_one_that_would_break_relations_is_refused_with_the_counts(client, ui):
    from annotations.models import AnnotationSet, Relation

    client = _as(client, ui, "admin")
    html = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "Dose"},
                       **HTMX).content.decode()
    assert "<strong>Merge</strong> <code>Drug</code> into the existing entity type <code>Dose</code>" in html
    model_set = AnnotationSet.objects.get(source_kind="model")
    Relation.objects.create(annotation_set=model_set, local_id="R1", type="Adverse-Effect",
                            arg1_entity=model_set.entities.get(local_id="T1"),
                            arg2_entity=model_set.entities.get(local_id="T3"))
    # Dose relations go Dose -> Drug: this Drug -> Adverse-Effect relation would not fit.
    html = client.post("/projects/ui/schema/rename/", {"kind": "relation", "old": "Adverse-Effect", "new": "Dose"},
                       **HTMX).content.decode()
    assert "Refused: these annotations would break the rules of <code>Dose</code>" in html
    assert "Adverse-Effect: 1 relation in 1 note" in html and 'name="confirm"' not in html
    refused = client.post("/projects/ui/schema/rename/", {"kind": "relation", "old": "Adverse-Effect", "new": "Dose",
                                                          "confirm": "1"}, **HTMX)
    assert refused.status_code == 200 and "Adverse-Effect: 1 relation in 1 note" in refused.content.decode()
    assert Relation.objects.get(local_id="R1").type == "Adverse-Effect"


def test_an_invalid_new_name_is_refused_with_its_reason(client, ui):
    client = _as(client, ui, "admin")
    for new, reason in (("<b>x</b>", "may hold only"), ("Negation", "is an attribute type")):
        html = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": new},
                           **HTMX).content.decode()
        assert reason in html and "<b>x</b>" not in html


def test_the_rename_works_without_javascript_too(client, ui):
    client = _as(client, ui, "admin")
    page = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "Medicine"})
    assert page.status_code == 200 and "<h1>Rename or merge Drug</h1>" in page.content.decode()
    done = client.post("/projects/ui/schema/rename/", {"kind": "entity", "old": "Drug", "new": "Medicine",
                                                       "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == PAGE


# --- annotation.conf / visual.conf ------------------------------------------------------------------------


def test_the_conf_form_shows_the_texts_and_a_toolbar_preview(client, ui):
    html = _as(client, ui, "admin").get("/projects/ui/schema/conf/").content.decode()
    assert "Adverse-Effect\tArg1:Drug, Arg2:Adverse-Effect" in html  # written from the schema: none was uploaded
    assert 'class="type-btn" data-type="Adverse-Effect" data-label="Adverse effect" data-key="2"' in html
    assert 'hx-trigger="input changed delay:400ms"' in html
    assert not re.search(r"<[^>]+\sstyle\s*=", html)


def test_conf_problems_show_file_and_line_and_nothing_is_saved(client, ui):
    broken = ANNOTATION_CONF.replace("Dose Arg1:Dose, Arg2:Drug", "Dose Arg1:Dose")
    response = _as(client, ui, "admin").post("/projects/ui/schema/conf/", {
        "annotation_conf": broken, "visual_conf": VISUAL_CONF + "Drug bgColor:expression(alert(1))\n"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<code>annotation.conf:8</code> Dose: a relation needs exactly two arguments" in html
    assert "<code>visual.conf:10</code>" in html
    assert AnnotationSchema.objects.get(project=ui["project"]).annotation_conf == ""


def test_a_conf_that_would_orphan_annotations_is_refused_with_the_counts(client, ui):
    without_dose = ANNOTATION_CONF.replace("Drug\nAdverse-Effect\nDose\n", "Adverse-Effect\nDose\n")
    response = _as(client, ui, "admin").post("/projects/ui/schema/conf/", {
        "annotation_conf": without_dose, "visual_conf": VISUAL_CONF})
    assert response.status_code == 409
    html = response.content.decode()
    assert "<strong>Drug: 2 entities in 1 note</strong> — removed from the schema" in html
    assert "Drug" in [t.name for t in project_schema_get(project=ui["project"]).entity_types]


def test_a_valid_conf_is_saved_and_the_page_shows_it(client, ui):
    client = _as(client, ui, "admin")
    wider = ANNOTATION_CONF.replace("Dose\n\n", "Dose\nRoute\n\n", 1)
    response = client.post("/projects/ui/schema/conf/", {"annotation_conf": wider, "visual_conf": VISUAL_CONF})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert "<code>Route</code>" in client.get(PAGE).content.decode()
    assert AnnotationSchema.objects.get(project=ui["project"]).annotation_conf == wider


def test_the_live_preview_renders_the_toolbar_and_its_colours_from_the_typed_text(client, ui):
    client = _as(client, ui, "admin")
    conf = "[entities]\nMedicine\n<b>oops</b>\n"
    visual = "[labels]\nMedicine | Medicine & Co\n\n[drawing]\nMedicine bgColor:#ff00aa\n"
    response = client.post("/projects/ui/schema/conf/preview/", {"annotation_conf": conf, "visual_conf": visual},
                           **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="conf-preview"')
    assert 'data-type="Medicine" data-label="Medicine &amp; Co" data-key="1"' in html
    assert "<code>annotation.conf:3</code>" in html and "&lt;b&gt;oops" in html and "<b>oops" not in html
    assert not _style_tags(html)  # a fragment's <style> would carry the wrong nonce: a stylesheet link instead
    css_url = re.search(r'<link rel="stylesheet" href="([^"]+\.css)">', html).group(1)
    css = client.get(css_url)
    assert css["Content-Type"].startswith("text/css")
    assert '.type-btn[data-type="Medicine"]{--c:#ff00aa}' in css.content.decode()
    assert _as(client, ui, "annotator").get(css_url).status_code == 403
    assert AnnotationSchema.objects.get(project=ui["project"]).annotation_conf == ""  # a preview saves nothing


def test_an_expired_preview_stylesheet_is_404(client, ui):
    assert _as(client, ui, "admin").get("/projects/ui/schema/conf/preview/" + "0" * 32 + ".css").status_code == 404


def test_opening_the_schema_pages_writes_nothing(client, ui):
    from .test_get_writes_nothing import row_counts

    before = row_counts()
    for role in ("annotator", "admin"):
        _as(client, ui, role)
        for url in (PAGE, "/projects/ui/schema/colours.css", "/projects/ui/schema/conf/"):
            assert client.get(url).status_code in (200, 403)
    after = row_counts()
    assert {t for t in after if before.get(t) != after[t]} <= {"django_session", "annotations_auditevent"}
