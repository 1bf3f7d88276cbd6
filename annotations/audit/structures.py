"""What an edit's audit record says changed: annotation structures without clinical text (ids, types,
offsets), and the before/after of an edit."""

from __future__ import annotations


def annotation_structure(document) -> dict:
    """The shape of a Document's annotations for an audit record: ids, types, offsets; no text."""
    return {
        "entities": [
            {"id": e.id, "type": e.type, "fragments": [[s.start, s.end] for s in e.spans]} for e in document.entities
        ],
        "relations": [{"id": r.id, "type": r.type, "arg1": r.arg1, "arg2": r.arg2} for r in document.relations],
        "events": [
            {"id": ev.id, "type": ev.type, "trigger": ev.trigger, "args": [list(a) for a in ev.args]}
            for ev in document.events
        ],
        "attributes": [{"id": a.id, "name": a.name, "target": a.target, "value": a.value} for a in document.attributes],
        "normalizations": [
            {"id": n.id, "target": n.target, "resource": n.resource, "resource_id": n.resource_id}
            for n in document.normalizations
        ],
        "annotator_notes": [{"id": n.id, "target": n.target} for n in document.notes],
        "equivalences": [{"type": q.type, "members": list(q.members)} for q in document.equivalences],
        "label": document.label,
    }


def edit_changes_structure(annotation_set_id: int, changes: dict) -> dict:
    """The annotations one fine-grained edit touched, before and after, for an audit record: the same keys
    and shapes as `annotation_structure` (plus each entity's and relation's decision), restricted to
    the rows the edit changed, created or deleted (a deleted row is in "before" only, a created one in
    "after" only). A few queries whatever the set's size; no clinical text (entity texts are left out).

    `changes` is `EditResult.changes`: {"before": {kind: [row dicts]}, "created": {kind: [pks]}}.
    """
    from annotations.models import Attribute, Entity, Normalization, NoteLabel, Relation

    before_rows: dict[str, list[dict]] = changes.get("before", {})
    created: dict[str, list[int]] = changes.get("created", {})
    models = {"entity": Entity, "relation": Relation, "attribute": Attribute, "normalization": Normalization,
              "label": NoteLabel}
    after_rows = {}
    for kind, model in models.items():
        ids = [r["id"] for r in before_rows.get(kind, [])] + list(created.get(kind, []))
        if ids:
            after_rows[kind] = list(model.objects.filter(pk__in=ids, annotation_set_id=annotation_set_id).values())
    from annotations.models import Event, EventArgument

    for kind, model, lookup in (("event", Event, "annotation_set_id"),
                                ("event_argument", EventArgument, "event__annotation_set_id")):
        ids = [r["id"] for r in before_rows.get(kind, [])] + list(created.get(kind, []))
        if ids:
            after_rows[kind] = list(model.objects.filter(pk__in=ids, **{lookup: annotation_set_id}).values())
    entity_pks = {r.get(f) for rows in (*before_rows.values(), *after_rows.values()) for r in rows
                  for f in ("arg1_entity_id", "arg2_entity_id", "entity_id", "trigger_id")} - {None}
    event_pks = {r.get(f) for rows in (*before_rows.values(), *after_rows.values()) for r in rows
                 for f in ("event_id", "target_event_id", "arg1_event_id", "arg2_event_id")} - {None}
    event_local = dict(Event.objects.filter(pk__in=event_pks).values_list("pk", "local_id")) if event_pks else {}
    event_local.update({r["id"]: r["local_id"] for r in before_rows.get("event", [])})
    local = {r["id"]: r["local_id"] for r in before_rows.get("entity", [])}
    missing = entity_pks - set(local)
    if missing:
        local.update(Entity.objects.filter(pk__in=missing).values_list("pk", "local_id"))
    relation_local = {r["id"]: r["local_id"] for rows in (before_rows.get("relation", []), after_rows.get("relation", []))
                      for r in rows}

    def target(row: dict) -> str | None:
        if row.get("entity_id"):
            return local.get(row["entity_id"])
        if row.get("relation_id"):
            return relation_local.get(row["relation_id"]) or f"relation:{row['relation_id']}"
        return f"event:{row['event_id']}" if row.get("event_id") else None

    def shape(rows: dict[str, list[dict]]) -> dict:
        out = {
            "entities": [{"id": r["local_id"], "type": r["type"], "fragments": r["fragments"],
                          "decision": r.get("decision", "")} for r in rows.get("entity", [])],
            "relations": [{"id": r["local_id"], "type": r["type"],
                           "arg1": local.get(r["arg1_entity_id"]) or (r["arg1_event_id"] and f"event:{r['arg1_event_id']}"),
                           "arg2": local.get(r["arg2_entity_id"]) or (r["arg2_event_id"] and f"event:{r['arg2_event_id']}"),
                           "decision": r.get("decision", "")} for r in rows.get("relation", [])],
            "attributes": [{"id": r["local_id"], "name": r["name"], "target": target(r), "value": r["value"]}
                           for r in rows.get("attribute", [])],
            "normalizations": [{"id": r["local_id"], "target": target(r), "resource": r["resource"],
                                "resource_id": r["resource_id"]} for r in rows.get("normalization", [])],
        }
        if "event" in rows or "event_argument" in rows:  # events only where the edit touched them
            out["events"] = [{"id": r["local_id"], "type": r["type"], "trigger": local.get(r["trigger_id"])}
                             for r in rows.get("event", [])]
            out["event_arguments"] = [{"event": event_local.get(r["event_id"]), "role": r["role"],
                                       "position": r["position"],
                                       "target": local.get(r["entity_id"]) or event_local.get(r["target_event_id"])}
                                      for r in rows.get("event_argument", [])]
        if "label" in rows:
            out["label"] = rows["label"][0]["value"] if rows["label"] else None
        return out

    return {"before": shape(before_rows), "after": shape(after_rows)}
