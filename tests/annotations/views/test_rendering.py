"""The note's string-built HTML and stylesheet (annotations.views.rendering): a value from the data can add
no element, no attribute and no CSS, even one stored before the readers checked ids and colours (issue 13)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from annotations.views.rendering import (
    Mark,
    colour_css,
    evidence_options_html,
    relation_items_html,
    segment_html,
)

HOSTILE = """T"><i hx-post="/p/other/" hx-trigger="load">'"""


def parsed(html: str) -> list[tuple[str, dict]]:
    """Every start tag as the browser's parser reads it: (tag, attributes)."""
    tags: list[tuple[str, dict]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, dict(attrs)))

    Parser().feed(html)
    return tags


def test_a_hostile_id_label_and_attribute_stay_inside_their_attributes():
    mark = Mark(HOSTILE, HOSTILE, ((0, 4),), True, "model", 0.5, (f"Neg={HOSTILE}",))
    html = segment_html("text", 0, (0, 4), [mark], {HOSTILE: "red"}, {HOSTILE: HOSTILE})
    tags = parsed(html)
    assert {tag for tag, _ in tags} == {"span"}
    assert all(set(attrs) <= {"class", "id", "data-s", "data-e", "data-id", "data-l"} for _, attrs in tags)
    assert tags[1][1]["data-id"] == HOSTILE and HOSTILE in tags[1][1]["data-l"]
    assert 'data-id="T&quot;&gt;&lt;i hx-post=&quot;/p/other/&quot; hx-trigger=&quot;load&quot;&gt;&#x27;"' in html


def test_relation_items_and_evidence_options_escape_every_field():
    row = {"pk": 1, "local_id": HOSTILE, "type": HOSTILE, "a1": HOSTILE, "a2": HOSTILE, "a1_text": HOSTILE,
           "a2_text": HOSTILE, "pending": False, "confidence": None}
    for html in (relation_items_html([row]), evidence_options_html([row], None)):
        tags = parsed(html)
        assert {tag for tag, _ in tags} <= {"li", "b", "option"}
        assert all(set(attrs) <= {"class", "id", "data-id", "data-a1", "data-a2", "value", "selected"} for _, attrs in tags)


def test_the_stylesheet_holds_only_checked_colours_and_escaped_names():
    css = colour_css({"Drug": "#7fa2ff", "AE": "red}#note-text{color:red}", "Dose": "url(/p/other/notes/5/)",
                      'X"]{}</style><i>': "RebeccaPurple"})
    assert "note-text" not in css and "url(" not in css and "</style" not in css and "<" not in css
    assert css.startswith('.c0,.swatch[data-t="Drug"],.type-btn[data-type="Drug"]{--c:#7fa2ff}')
    assert ".c1,.swatch[data-t=\"AE\"],.type-btn[data-type=\"AE\"]{--c:#d0d0d0}" in css  # the default instead
    assert re.findall(r"\{([^}]*)\}", css) == ["--c:#7fa2ff", "--c:#d0d0d0", "--c:#d0d0d0", "--c:RebeccaPurple",
                                                "--c:#d0d0d0"]
