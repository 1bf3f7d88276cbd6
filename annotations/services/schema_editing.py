"""Editing a project's schema: display names and colours, the annotation.conf / visual.conf texts, renaming or
merging a type together with every annotation that holds it, and adding types.

The schema transformations themselves are framework-free (`annotations.formats.schema_changes`); these
services lock the project's schema row (so that two admins' changes queue rather than overwrite each
other), refuse a change that would leave annotations outside the schema (with counts per kind and type),
write, and append their `schema_change` audit record (names and counts, never note text) in the same
transaction, whatever the door (schema page, API, command).

A rename rewrites rows in place and bumps the `version` of every annotation set it touches: an editor
open on one of them then gets the usual "someone else changed these annotations" instead of writing the
old name back (annotations.services.editing checks that version on every edit).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.db.models import Count, F, Q

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError, OrphanedAnnotationsError
from annotations.formats.brat_conf import (
    parse_annotation_conf,
    parse_visual_conf,
    write_annotation_conf,
    write_visual_conf,
)
from annotations.formats.schema import AttributeType, EntityType, EventType, RelationType, Schema
from annotations.formats.schema_changes import (
    KINDS,
    SchemaChangeError,
    breaking_annotations,
    document_type_rename,
    names_of,
    same_rules,
    type_rename,
    type_style_set,
    types_add,
)
from annotations.models import (
    AnnotationEdit,
    AnnotationSchema,
    AnnotationSet,
    Attribute,
    Decision,
    Entity,
    Equivalence,
    Event,
    Project,
    Relation,
)

from .document_store import annotation_sets_to_documents
from .schemas import project_schema_get, project_schema_set, schema_from_dict

logger = logging.getLogger(__name__)

MAX_CONF_CHARS = 200_000
CHECK_CHUNK = 300  # annotation sets read at a time when checking a change against every annotation
_PLURAL = {
    "entity": "entities", "relation": "relations", "event": "events", "attribute": "attributes",
}
# Which rows hold a type name of each kind: (what the count calls them, model, column). An event type also
# names its triggers (text-bound annotations of the event's type); a relation type also names brat
# equivalences (`*\tEquiv T1 T2`: Equiv is declared in [relations]).
_ROWS = {
    "entity": (("entities", Entity, "type"),),
    "event": (("events", Event, "type"), ("entities", Entity, "type")),
    "relation": (("relations", Relation, "type"), ("equivalences", Equivalence, "type")),
    "attribute": (("attributes", Attribute, "name"),),
}


@dataclass(frozen=True)
class TypeUsage:
    """Annotations of one kind and type that a change would leave outside the schema."""

    kind: str
    type: str
    annotations: int
    notes: int
    reason: str = ""
    examples: tuple[str, ...] = ()  # the rule check's messages: ids and type names only

    def describe(self) -> str:
        noun = _PLURAL.get(self.kind, self.kind) if self.annotations != 1 else self.kind
        return f"{self.type}: {self.annotations:,} {noun} in {self.notes:,} note{'s' if self.notes != 1 else ''}"

    def as_dict(self) -> dict:
        return {**asdict(self), "examples": list(self.examples), "summary": self.describe()}


@dataclass(frozen=True)
class RenamePlan:
    """What renaming `old` to `new` rewrites (rows per kind, notes, annotation sets) and, for a merge, which
    annotations would break the target's rules (then the rename is refused)."""

    kind: str
    old: str
    new: str
    merge: bool
    counts: dict[str, int] = field(default_factory=dict)
    notes: int = 0
    annotation_sets: int = 0
    breaks: tuple[TypeUsage, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        parts = [f"{n:,} {label}" for label, n in self.counts.items() if n]
        if not parts:
            return "no annotations"
        return f"{' and '.join(parts)} in {self.notes:,} note{'s' if self.notes != 1 else ''}"

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "old": self.old, "new": self.new, "merge": self.merge, "counts": dict(self.counts),
            "notes": self.notes, "annotation_sets": self.annotation_sets,
            "breaks": [b.as_dict() for b in self.breaks],
        }


def _error(exc: SchemaChangeError) -> ApplicationError:
    return ApplicationError(exc.code, exc.message, status=404 if exc.code == "unknown_type" else 400)


def _no_schema() -> ApplicationError:
    return ApplicationError("no_schema", "This project has no schema yet: import a corpus or give its annotation.conf.",
                            status=404)


def _locked_schema(project: Project) -> AnnotationSchema | None:
    """The project's stored schema row, locked until the transaction ends (schema changes queue)."""
    return AnnotationSchema.objects.select_for_update().filter(project=project).first()


def _save(project: Project, stored: AnnotationSchema | None, schema: Schema, *, annotation_conf: str | None = None,
          visual_conf: str | None = None, inferred: bool | None = None) -> AnnotationSchema:
    """Store `schema`; a conf text not given is written from the schema, so that the texts the API and the
    conf form show always say what the definition says (comments of an uploaded text do not survive a
    rename)."""
    return project_schema_set(
        project=project,
        schema=schema,
        inferred=(stored.inferred if stored is not None else False) if inferred is None else inferred,
        annotation_conf=write_annotation_conf(schema) if annotation_conf is None else annotation_conf,
        visual_conf=write_visual_conf(schema) if visual_conf is None else visual_conf,
    )


def _audit(project: Project, by, operation: str, **details) -> None:
    audit_record(
        action=AuditAction.SCHEMA_CHANGE, actor=by if getattr(by, "is_authenticated", False) else None,
        project=project, object_type="schema", object_id=project.pk, details={"operation": operation, **details},
    )


# --- reads ---------------------------------------------------------------------------------------------


def schema_conf_texts(*, project: Project) -> tuple[Schema | None, str, str]:
    """The project's schema and its annotation.conf and visual.conf texts: as stored (an uploaded text keeps
    its comments and macros), else written from the schema (an inferred one has no text)."""
    stored = AnnotationSchema.objects.filter(project=project).first()
    if stored is None:
        return None, "", ""
    schema = schema_from_dict(stored.definition)
    return (
        schema,
        stored.annotation_conf or write_annotation_conf(schema),
        stored.visual_conf or write_visual_conf(schema),
    )


def schema_type_usage(*, project: Project) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, type) -> (annotations, notes) for every type name the project's annotations hold: four
    grouped queries whatever the size of the project. Entities count under "entity" (triggers of events
    included), events under "event"."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for kind, model, column in (
        ("entity", Entity, "type"), ("event", Event, "type"), ("relation", Relation, "type"),
        ("attribute", Attribute, "name"),
    ):
        rows = (
            model.objects.filter(annotation_set__note__project=project)
            .values(column)
            .annotate(n=Count("pk"), notes=Count("annotation_set__note", distinct=True))
            .order_by()
        )
        for row in rows:
            out[(kind, row[column])] = (row["n"], row["notes"])
    return out


def _sets_holding(project: Project, kind: str, name: str) -> tuple[dict[str, int], set[int], set[int]]:
    """Rows per label holding `name` as a type of `kind`, and the ids of their annotation sets and notes."""
    counts: dict[str, int] = {}
    set_ids: set[int] = set()
    note_ids: set[int] = set()
    for label, model, column in _ROWS[kind]:
        rows = model.objects.filter(annotation_set__note__project=project, **{column: name})
        pairs = list(rows.values_list("annotation_set_id", "annotation_set__note_id").distinct())
        counts[label] = counts.get(label, 0) + (rows.count() if pairs else 0)
        set_ids.update(s for s, _ in pairs)
        note_ids.update(n for _, n in pairs)
    return counts, set_ids, note_ids


def _breaks(sets, before: Schema | None, after: Schema, *, rename: tuple[str, str, str] | None = None,
            reason=None) -> tuple[TypeUsage, ...]:
    """The annotations of `sets` (a queryset of annotation sets) that fit `before` and would not fit `after`
    (after `rename` (kind, old, new) when given), per kind and type with counts, read CHECK_CHUNK sets at a
    time. Rejected pre-labels are left out: they stay for provenance but are never exported or checked."""
    found: dict[tuple[str, str], list] = defaultdict(lambda: [0, set(), []])
    last = 0
    while True:
        chunk = list(sets.filter(pk__gt=last).select_related("note").order_by("pk")[:CHECK_CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        documents = annotation_sets_to_documents(chunk)
        for aset in chunk:
            doc = documents[aset.pk]
            changed = document_type_rename(doc, *rename) if rename else doc
            for broken in breaking_annotations(doc, before, changed, after):
                entry = found[(broken.kind, broken.type)]
                entry[0] += 1
                entry[1].add(aset.note_id)
                if len(entry[2]) < 3:
                    entry[2].append(f"{aset.note.external_id[:60]} {broken.message}")
    return tuple(
        TypeUsage(kind, type_, n, len(notes), reason(kind, type_) if reason else "", tuple(examples))
        for (kind, type_), (n, notes, examples) in sorted(found.items())
    )


def _removed_in_use(project: Project, before: Schema | None, after: Schema) -> tuple[TypeUsage, ...]:
    """Annotations whose type `before` had (any type, when there was no schema) and `after` lacks, counted
    per kind and type in the database (a few grouped queries, whatever the size of the project)."""
    known = {kind: set(names_of(after, kind)) for kind in KINDS}
    known["entity"] |= known["event"]  # an event trigger is an entity of its event's type
    had = None
    if before is not None:
        had = {kind: set(names_of(before, kind)) for kind in KINDS}
        had["entity"] |= had["event"]
    found = []
    for kind, model, column in (
        ("entity", Entity, "type"), ("event", Event, "type"), ("relation", Relation, "type"),
        ("attribute", Attribute, "name"),
    ):
        rows = model.objects.filter(annotation_set__note__project=project).exclude(**{f"{column}__in": known[kind]})
        if had is not None:
            rows = rows.filter(**{f"{column}__in": had[kind]})
        if kind in ("entity", "relation"):  # rejected pre-labels stay for provenance, never exported or checked
            rows = rows.exclude(decision=Decision.REJECTED)
        for row in rows.values(column).annotate(n=Count("pk"), notes=Count("annotation_set__note", distinct=True)).order_by(column):
            found.append(TypeUsage(kind, row[column], row["n"], row["notes"], "removed from the schema"))
    return tuple(found)


def _changed_rules(before: Schema, after: Schema) -> dict[str, set[str]] | None:
    """Per kind, the type names whose definition differs between the schemas; None when a type of text
    changed its place in the hierarchy or became a grouping node (then any relation, event or attribute
    may be affected, through the parent names their rules allow)."""
    def lines(items) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for item in items:
            out[item.name].append(repr(item))
        return {name: sorted(values) for name, values in out.items()}

    for attr in ("entity_types", "event_types"):
        old = {t.name: (t.parent, t.annotatable) for t in getattr(before, attr)}
        if any(old.get(t.name, (t.parent, t.annotatable)) != (t.parent, t.annotatable) for t in getattr(after, attr)):
            return None
    changed = {}
    for kind, attr in (("entity", "entity_types"), ("event", "event_types"), ("relation", "relation_types"),
                       ("attribute", "attribute_types")):
        old, new = lines(getattr(before, attr)), lines(getattr(after, attr))
        changed[kind] = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    return changed


def _conf_orphans(project: Project, before: Schema | None, after: Schema) -> tuple[TypeUsage, ...]:
    """What replacing `before` by `after` would orphan: types removed while in use (counted in the database,
    and enough to refuse), else the annotations that break a changed rule (narrower argument types, other
    roles, fewer attribute values), checked document by document in the annotation sets that hold a type
    whose rules changed (every set when the hierarchy changed)."""
    removed = _removed_in_use(project, before, after)
    if removed:
        return removed
    sets = AnnotationSet.objects.filter(note__project=project)
    changed = _changed_rules(before, after) if before is not None else None
    if changed is not None:
        holding = Q(pk__in=[])
        for kind, model, column in (
            ("entity", Entity, "type"), ("event", Event, "type"), ("relation", Relation, "type"),
            ("attribute", Attribute, "name"),
        ):
            if changed[kind]:
                rows = model.objects.filter(annotation_set__note__project=project, **{f"{column}__in": changed[kind]})
                holding |= Q(pk__in=rows.values("annotation_set_id"))
        sets = sets.filter(holding)
    return _breaks(sets, before, after, reason=lambda kind, type_: "would break the new schema's rules")


def schema_type_rename_plan(*, project: Project, kind: str, old: str, new: str) -> RenamePlan:
    """What `schema_type_rename` would rewrite, without writing (the confirmation the schema page shows).

    Raises ApplicationError (`no_schema`, and the codes of `schema_changes.type_rename`)."""
    schema = project_schema_get(project=project)
    if schema is None:
        raise _no_schema()
    return _plan(project, schema, kind, old, new)[0]


def _plan(project: Project, schema: Schema, kind: str, old: str, new: str) -> tuple[RenamePlan, Schema, set[int]]:
    try:
        renamed = type_rename(schema, kind, old, new)
    except SchemaChangeError as exc:
        raise _error(exc) from None
    merge = new in names_of(schema, kind)
    counts, set_ids, note_ids = _sets_holding(project, kind, old)
    breaks: tuple[TypeUsage, ...] = ()
    if merge:  # a pure rename keeps every annotation valid; a merge may not (other roles, argument types)
        breaks = _breaks(
            AnnotationSet.objects.filter(pk__in=set_ids), schema, renamed, rename=(kind, old, new),
            reason=lambda k, t: f"would break the rules of {new}",
        )
    plan = RenamePlan(kind, old, new, merge, counts, len(note_ids), len(set_ids), breaks)
    return plan, renamed, set_ids


# --- services ------------------------------------------------------------------------------------------


def schema_type_style_set(*, project: Project, by, name: str, label: str | None, colour: str | None) -> Schema:
    """Set the display name and colour of type `name` (None or "" clears either), audited.

    Raises ApplicationError: `no_schema`, `unknown_type` (404), `bad_label` (over 60 characters, control
    characters, `|`), `bad_colour` (not #rgb, #rrggbb or a CSS colour name)."""
    with transaction.atomic():
        stored = _locked_schema(project)
        if stored is None:
            raise _no_schema()
        schema = schema_from_dict(stored.definition)
        try:
            changed = type_style_set(schema, name, label=label, colour=colour)
        except SchemaChangeError as exc:
            raise _error(exc) from None
        style = changed.visual.get(name)
        _save(project, stored, changed, annotation_conf=stored.annotation_conf)
        _audit(project, by, "style", type=name, label=style.label if style else None,
               colour=style.colour if style else None)
    return changed


def schema_conf_replace(*, project: Project, by, annotation_conf: str, visual_conf: str) -> Schema:
    """Replace the project's schema with the one these annotation.conf and visual.conf texts define, audited.

    Nothing is written when a text has problems (ApplicationError `schema_invalid`, 400, details: every
    problem as {file, line, message}) or when annotations of the project would no longer fit the new
    schema: a removed type still in use, a type made a grouping node, narrower argument types
    (OrphanedAnnotationsError `schema_orphans`, 409, with counts per kind and type). Renaming a type is
    `schema_type_rename`, which rewrites its annotations."""
    for text, source in ((annotation_conf, "annotation.conf"), (visual_conf, "visual.conf")):
        if len(text) > MAX_CONF_CHARS:
            raise ApplicationError("too_large", f"{source} may have at most {MAX_CONF_CHARS:,} characters.")
    parsed, problems = parse_annotation_conf(annotation_conf, "annotation.conf")
    visual, visual_problems = parse_visual_conf(visual_conf, "visual.conf")
    problems += visual_problems
    if problems:
        raise ApplicationError(
            "schema_invalid",
            "; ".join(str(p) for p in problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
            details=[{"file": p.file, "line": p.line, "message": p.message} for p in problems],
        )
    schema = Schema(
        entity_types=parsed.entity_types, relation_types=parsed.relation_types, event_types=parsed.event_types,
        attribute_types=parsed.attribute_types, visual=visual,
    )
    with transaction.atomic():
        stored = _locked_schema(project)
        before = schema_from_dict(stored.definition) if stored is not None else None
        if not same_rules(before, schema):  # a visual.conf change cannot orphan anything
            orphans = _conf_orphans(project, before, schema)
            if orphans:
                raise OrphanedAnnotationsError(
                    "schema_orphans",
                    "Nothing was saved: annotations of this project would no longer fit the schema ("
                    + "; ".join(f"{o.describe()}, {o.reason}" for o in orphans[:10])
                    + (f"; and {len(orphans) - 10} more types" if len(orphans) > 10 else "")
                    + "). Keep those types, or rename or merge them on the schema page, which rewrites their "
                    "annotations.",
                    orphans=[o.as_dict() for o in orphans],
                )
        _save(project, stored, schema, annotation_conf=annotation_conf, visual_conf=visual_conf, inferred=False)
        old_names = {(k, n) for k in KINDS for n in names_of(before, k)} if before else set()
        new_names = {(k, n) for k in KINDS for n in names_of(schema, k)}
        _audit(
            project, by, "conf_replace",
            added=sorted(f"{k}:{n}" for k, n in new_names - old_names),
            removed=sorted(f"{k}:{n}" for k, n in old_names - new_names),
            types={kind: len(names_of(schema, kind)) for kind in KINDS},
        )
    return schema


def schema_type_rename(*, project: Project, by, kind: str, old: str, new: str) -> RenamePlan:
    """Rename type `old` of `kind` to `new`, or merge it into `new` when the schema has that type of the
    same kind, in one transaction: every annotation of the project holding `old` and every reference in the
    schema (hierarchy, relation arguments, event roles, attribute targets, visual.conf, the project's ADE
    evidence setting). Audited; returns what was rewritten.

    Every touched annotation set gets a new version (open editors reload instead of writing the old name
    back) and loses its undo history: its steps hold the rows as they were, and undoing one would bring the
    old name back. Sets keep their status and `updated_at` (which set is a note's gold or newest submission
    does not change).

    Raises ApplicationError (`no_schema`, `unknown_type`, `bad_name`, `same_name`, `cross_kind`,
    `ambiguous_type`, `grouping_target`) and, for a merge after which annotations would break the target's
    rules (other relation roles or argument types, event roles, attribute values), OrphanedAnnotationsError
    `merge_breaks_annotations` (409) with counts; nothing is written then."""
    with transaction.atomic():
        stored = _locked_schema(project)
        if stored is None:
            raise _no_schema()
        schema = schema_from_dict(stored.definition)
        plan, renamed, set_ids = _plan(project, schema, kind, old, new)
        if plan.breaks:
            raise OrphanedAnnotationsError(
                "merge_breaks_annotations",
                f"Nothing was merged: {'; '.join(b.describe() for b in plan.breaks[:10])} would break the rules "
                f"of {new} (e.g. {plan.breaks[0].examples[0] if plan.breaks[0].examples else ''}). Widen {new} in "
                "annotation.conf first (another line for it with these arguments or roles), or merge into another "
                "type.",
                orphans=[b.as_dict() for b in plan.breaks],
            )
        counts: dict[str, int] = defaultdict(int)
        touched: set[int] = set()
        pending = set_ids
        # Rows an edit commits while this runs are in sets not yet locked: look again until none is left
        # (a few rounds at most: each round locks every set found so far).
        for _ in range(10):
            if not pending:
                break
            ids = list(
                AnnotationSet.objects.select_for_update(of=("self",)).filter(pk__in=pending).order_by("pk")
                .values_list("pk", flat=True)
            )
            for label, model, column in _ROWS[kind]:
                counts[label] += model.objects.filter(annotation_set_id__in=ids, **{column: old}).update(**{column: new})
            touched.update(ids)
            pending = _sets_holding(project, kind, old)[1] - touched
        AnnotationSet.objects.filter(pk__in=touched).update(version=F("version") + 1)
        # The undo steps of these sets hold their rows as they were, old name included: undoing one would
        # write a type the schema no longer has. Clearing them is the simple correct choice; the editor then
        # says "nothing to undo".
        AnnotationEdit.objects.filter(annotation_set_id__in=touched).delete()
        if kind == "relation":  # the project setting naming the relation types that are ADE evidence
            evidence = (Project.objects.select_for_update().filter(pk=project.pk)
                        .values_list("ade_evidence_relation_types", flat=True).first()) or []
            if old in evidence:
                evidence = list(dict.fromkeys(new if t == old else t for t in evidence))
                Project.objects.filter(pk=project.pk).update(ade_evidence_relation_types=evidence)
                project.ade_evidence_relation_types = evidence
        _save(project, stored, renamed)
        notes = plan.notes
        result = RenamePlan(kind, old, new, plan.merge, {k: v for k, v in counts.items()}, notes, len(touched))
        _audit(project, by, "merge" if plan.merge else "rename", kind=kind, old=old, new=new,
               rewritten=result.counts, notes=notes, annotation_sets=len(touched))
    logger.info("schema of %s: %s %s %s -> %s (%s)", project.slug, "merged" if plan.merge else "renamed", kind, old,
                new, result.describe())
    return result


def schema_types_add(
    *,
    project: Project,
    by,
    entity_types: tuple[EntityType | str, ...] = (),
    relation_types: tuple[RelationType | str, ...] = (),
    event_types: tuple[EventType | str, ...] = (),
    attribute_types: tuple[AttributeType | str, ...] = (),
) -> list[tuple[str, str]]:
    """Add the types the project's schema lacks (the import's "add these N types" offer), audited; returns
    the (kind, name) pairs added (types already there are left as they are). A bare name is the loosest
    type of its kind (schema_changes.types_add). Creates the schema when the project has none.

    Raises ApplicationError `bad_name`, `cross_kind`, `unknown_parent`."""
    with transaction.atomic():
        stored = _locked_schema(project)
        schema = schema_from_dict(stored.definition) if stored is not None else None
        try:
            changed, added = types_add(
                schema, entity_types=entity_types, relation_types=relation_types, event_types=event_types,
                attribute_types=attribute_types,
            )
        except SchemaChangeError as exc:
            raise _error(exc) from None
        if added:
            _save(project, stored, changed)
            _audit(project, by, "types_add", added=[f"{kind}:{name}" for kind, name in added])
    return added

