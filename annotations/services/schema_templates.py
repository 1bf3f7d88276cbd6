"""Built-in schemas a new project can start from ("ADE", "nursing phrase states", ...).

A registry rather than a list: the annotations app owns the ADE template; other apps add theirs when they
load (the risk monitor's phrase states live in `inference`, which annotations does not import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from annotations.formats.brat_conf import load_schema
from annotations.formats.schema import Schema


@dataclass(frozen=True)
class SchemaTemplate:
    key: str
    label: str
    description: str
    build: Callable[[], Schema]


_TEMPLATES: dict[str, SchemaTemplate] = {}


def schema_template_register(template: SchemaTemplate) -> None:
    _TEMPLATES[template.key] = template


def schema_templates() -> list[SchemaTemplate]:
    return sorted(_TEMPLATES.values(), key=lambda t: t.label.lower())


def schema_template_get(key: str) -> SchemaTemplate | None:
    return _TEMPLATES.get(key)


def _ade_schema() -> Schema:
    from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF

    return load_schema(ANNOTATION_CONF, VISUAL_CONF, source="ade template")


schema_template_register(SchemaTemplate(
    key="ade",
    label="Adverse drug events",
    description="Drug, Adverse-Effect, Dose; Adverse-Effect and Dose relations; Negation and Certainty.",
    build=_ade_schema,
))
