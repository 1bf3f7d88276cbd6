"""Project schemas: stored as JSON, used as the framework-free `Schema` record."""

from __future__ import annotations

from dataclasses import asdict

from annotations.formats.schema import (
    AttributeType,
    EntityType,
    EventRole,
    EventType,
    RelationType,
    Schema,
    VisualStyle,
)
from annotations.models import AnnotationSchema, Project


def schema_to_dict(schema: Schema) -> dict:
    return asdict(schema)


def schema_from_dict(data: dict) -> Schema:
    return Schema(
        entity_types=tuple(EntityType(**e) for e in data.get("entity_types", ())),
        relation_types=tuple(
            RelationType(**{**r, "arg1_types": tuple(r["arg1_types"]), "arg2_types": tuple(r["arg2_types"]),
                            "options": tuple(r.get("options", ()))})
            for r in data.get("relation_types", ())
        ),
        event_types=tuple(
            EventType(
                name=e["name"],
                parent=e.get("parent"),
                annotatable=e.get("annotatable", True),
                roles=tuple(EventRole(**{**role, "types": tuple(role["types"])}) for role in e.get("roles", ())),
            )
            for e in data.get("event_types", ())
        ),
        attribute_types=tuple(
            AttributeType(name=a["name"], targets=tuple(a["targets"]), values=tuple(a.get("values", ())))
            for a in data.get("attribute_types", ())
        ),
        visual={name: VisualStyle(**style) for name, style in data.get("visual", {}).items()},
    )


def schema_merge(a: Schema, b: Schema) -> Schema:
    """Union of two schemas (used when a later import brings types an inferred schema has not seen)."""

    def merged(items_a, items_b, combine):
        by_name = {item.name: item for item in items_a}
        for item in items_b:
            by_name[item.name] = combine(by_name[item.name], item) if item.name in by_name else item
        return tuple(by_name.values())

    def union(x: tuple, y: tuple) -> tuple:
        return tuple(dict.fromkeys((*x, *y)))

    return Schema(
        entity_types=merged(a.entity_types, b.entity_types, lambda x, y: x),
        relation_types=merged(
            a.relation_types,
            b.relation_types,
            lambda x, y: RelationType(
                x.name, x.arg1_role, union(x.arg1_types, y.arg1_types), x.arg2_role, union(x.arg2_types, y.arg2_types),
                x.symmetric,
            ),
        ),
        event_types=merged(
            a.event_types,
            b.event_types,
            lambda x, y: EventType(x.name, merged(x.roles, y.roles, lambda r, s: EventRole(
                r.name, union(r.types, s.types), r.cardinality or s.cardinality)), x.parent),
        ),
        attribute_types=merged(
            a.attribute_types,
            b.attribute_types,
            lambda x, y: AttributeType(x.name, union(x.targets, y.targets), union(x.values, y.values)),
        ),
        visual={**b.visual, **a.visual},
    )


def project_schema_get(*, project: Project) -> Schema | None:
    """The project's schema, or None when it has none yet."""
    stored = AnnotationSchema.objects.filter(project=project).first()
    return schema_from_dict(stored.definition) if stored else None


def project_schema_set(
    *, project: Project, schema: Schema, inferred: bool, annotation_conf: str = "", visual_conf: str = ""
) -> AnnotationSchema:
    """Create or replace the project's schema."""
    stored, _ = AnnotationSchema.objects.update_or_create(
        project=project,
        defaults={
            "definition": schema_to_dict(schema),
            "inferred": inferred,
            "annotation_conf": annotation_conf,
            "visual_conf": visual_conf,
        },
    )
    return stored
