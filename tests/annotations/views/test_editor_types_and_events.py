"""Types, events and discontinuous entities in the editor (issue 14): a distinct colour per type whatever the
schema's order, display names from one place, "Also here" only for what overlaps, events listed escaped."""

from __future__ import annotations

import random
import re

import pytest

from annotations.formats.document import Document, Entity, Span
from annotations.formats.schema import Schema, VisualStyle
from annotations.models import AnnotationSet
from annotations.services.document_store import annotation_sets_write
from annotations.views.rendering import (
    PALETTE,
    Mark,
    event_items_html,
    fragments_overlap,
    segment_html,
    type_colours,
)

from .conftest import TEXT, span
from .test_rendering import HOSTILE, parsed

MACCROBAT_TYPES = """Activity Administration Age Area Biological_attribute Biological_structure Clinical_event Color
Coreference Date Detailed_description Diagnostic_procedure Disease_disorder Distance Dosage Duration Family_history
Frequency Height History Lab_value Mass Medication Nonbiological_location Occupation Other_entity Other_event
Outcome Personal_background Qualitative_concept Quantitative_concept Severity Sex Shape Sign_symptom Subject Texture
Therapeutic_procedure Time Volume Weight""".split()


def test_every_type_of_a_large_schema_gets_its_own_colour_whatever_the_order():
    colours = type_colours(MACCROBAT_TYPES)
    assert len(set(colours.values())) == len(MACCROBAT_TYPES) <= len(PALETTE)
    shuffled = MACCROBAT_TYPES[:]
    random.Random(7).shuffle(shuffled)
    assert type_colours(shuffled) == colours  # stable per type, not by schema position
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours.values())


def test_a_schema_colour_wins_and_a_bad_one_falls_back_to_the_palette():
    colours = type_colours(["Drug", "AE"], {"Drug": "#7fa2ff", "AE": "red}#x{"})
    assert colours["Drug"] == "#7fa2ff" and colours["AE"] in PALETTE


def test_display_names_come_from_the_schema_labels_else_the_name():
    schema = Schema(visual={"Adverse-Effect": VisualStyle(label="Adverse effect")})
    assert schema.display_name("Adverse-Effect") == "Adverse effect"
    assert schema.display_name("Sign_symptom") == "Sign_symptom"


def test_fragments_overlap_only_where_text_is_shared_not_in_the_gap():
    assert not fragments_overlap([[0, 3], [10, 15]], [[5, 8]])
    assert fragments_overlap([[0, 3], [10, 15]], [[12, 20]])
    assert not fragments_overlap([[0, 3]], [[3, 5]])


def test_a_discontinuous_entity_marks_each_fragment_alike():
    mark = Mark("T1", "Drug", ((0, 2), (5, 8)), False, "human", None)
    html = segment_html("ab   cde", 0, (0, 8), [mark], {"Drug": "#fff"}, {})
    assert html.count('class="e frag b c0" data-id="T1"') == 2


def test_event_items_escape_every_field():
    event = {"local_id": HOSTILE, "type": HOSTILE, "trigger": HOSTILE, "trigger_text": HOSTILE,
             "args": [{"role": HOSTILE, "ref": HOSTILE, "text": HOSTILE, "highlight": HOSTILE, "position": 0}]}
    tags = parsed(event_items_html([event], {HOSTILE: HOSTILE}))
    assert {tag for tag, _ in tags} <= {"li", "b", "span"}
    assert all(set(attrs) <= {"class", "id", "data-id", "data-hl", "data-t"} for _, attrs in tags)


# --- views -------------------------------------------------------------------------------------------------


def _own_set_with(ui, *entities) -> AnnotationSet:
    user = ui["users"]["annotator"]
    aset = AnnotationSet.objects.create(note=ui["note"], source_kind="user", user=user, source_name="annotator",
                                        status="in_progress")
    annotation_sets_write([(aset, Document(id="note-ade", text=TEXT, entities=entities))], origin="human")
    return aset


@pytest.mark.django_db
def test_also_here_lists_only_entities_that_share_text_with_a_discontinuous_one(client, ui):
    (g0, g1), (b0, b1), (d0, d1) = span("gastric"), span("bleeding"), span("duodenal")
    aset = _own_set_with(
        ui,
        Entity("T1", "Adverse-Effect", (Span(g0, g1), Span(b0, b1)), f"{TEXT[g0:g1]} {TEXT[b0:b1]}"),
        Entity("T2", "Drug", (Span(d0, d1),), TEXT[d0:d1]),  # in the gap: not "also here"
        Entity("T3", "Dose", (Span(b0, b1),), TEXT[b0:b1]),  # on a fragment: "also here"
    )
    client.force_login(ui["users"]["annotator"])
    panel = client.get(f"/projects/ui/notes/{ui['note'].pk}/entities/T1/?set={aset.pk}", HTTP_HX_REQUEST="true")
    also = re.search(r'<p class="also">(.*?)</p>', panel.content.decode(), re.S).group(1)
    assert "T3" in also and "T2" not in also
    assert "Discontinuous: its 2 fragments" in panel.content.decode()


@pytest.mark.django_db
def test_the_toolbar_and_panels_use_the_display_names_and_offer_a_type_filter(client, ui):
    aset = _own_set_with(ui, Entity("T1", "Adverse-Effect", (Span(*span("rash")),), "rash"))
    client.force_login(ui["users"]["annotator"])
    page = client.get(f"/projects/ui/notes/{ui['note'].pk}/?set={aset.pk}").content.decode()
    assert 'id="type-filter"' in page
    assert 'data-type="Adverse-Effect" data-label="Adverse effect"' in page
    panel = client.get(f"/projects/ui/notes/{ui['note'].pk}/entities/T1/?set={aset.pk}", HTTP_HX_REQUEST="true")
    assert '<span id="entity-type-label">Adverse effect</span>' in panel.content.decode()
    assert "Adverse-Effect</" not in panel.content.decode()
