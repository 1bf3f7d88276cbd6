"""Notes in from the EHR: FHIR R4 DocumentReferences, as a Bundle (JSON) or as NDJSON (FHIR Bulk Data's
one resource per line, e.g. `Patient.ndjson`, `Encounter.ndjson`, `DocumentReference.ndjson` in a .zip).

Each DocumentReference with an inline plain-text attachment becomes one note (a Document without
annotations):
- id: the identifier with system `NOTE_SYSTEM` (what this app's FHIR export writes), else masterIdentifier,
  else the first identifier, else `DocumentReference/<id>`;
- text: the first `content[].attachment` whose contentType is text/plain and that holds inline base64 `data`,
  decoded with the contentType's charset (UTF-8 when none; a leading byte-order mark is dropped). Attachments
  that only give a `url` are refused: nothing is ever fetched. `size` and `hash` (SHA-1), when given, must match;
- patient (pseudonymous): of the subject's Patient resource, the identifier with system `PATIENT_SYSTEM`, else
  the resource's logical id (the server's, never a medical record number: other identifiers, names, birth dates
  and addresses are not read); a subject that is not in the input is named by the id of its `Patient/<id>`
  reference (or its logical identifier's value); a `urn:uuid:` reference to nothing is a problem;
- time: `date`, else `context.period.start`, else the encounter's `period.start`, else the attachment's
  `creation`. A date without a time is that day at 00:00 UTC; a time without a zone is refused (FHIR requires
  one);
- type: `type` (text, else the first coding's display or code), else the first `category`;
- unit: the encounter's `serviceProvider` (display, or the Organization's name when it is in the input), else its
  first `location` (display or the Location's name), else `context.practiceSetting`, else `context.facilityType`.

Positions: a Bundle's resources are named `entry[i]` (0-based, FHIRPath's way), NDJSON ones by their line. A
resource that cannot be used becomes one ReadResult with its problems (position and reason), never more, and
the others are read; a DocumentReference whose status is entered-in-error is refused. Other resource types
(Practitioner, Observation, ...) are passed over. Two passes: the first collects Patients, Encounters,
Organizations and Locations from every file, the second yields the notes, so NDJSON is streamed line by line
in flat memory. A Bundle is one JSON document: it is read whole (up to the corpus limit), so very large exports
belong in NDJSON. Framework-free.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from .archive import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBER_BYTES, Corpus
from .document import Document, ParseProblem
from .results import ReadResult

__all__ = ["read_fhir", "NOTE_SYSTEM", "PATIENT_SYSTEM", "FHIR_SUFFIXES"]

# The identifier systems this app's FHIR export writes (pharmacovigilance.core.fhir.SYSTEMS: the same strings,
# a test keeps them equal): a note exported and imported again keeps its id and its patient.
NOTE_SYSTEM = "urn:ade-review:note"
PATIENT_SYSTEM = "urn:ade-review:patient"
FHIR_SUFFIXES = (".json", ".ndjson", ".jsonl")
CONTEXT_TYPES = ("Patient", "Encounter", "Organization", "Location")
MAX_ID = 300  # Note.external_id
MAX_FIELD = 100  # Note.unit, Note.note_type
MAX_PATIENT = 200  # Patient.external_id
# A Bundle is one JSON document, parsed whole (several times its size in memory): larger ones come as NDJSON.
BUNDLE_MAX_BYTES = 256 * 1024**2
_FHIR_DATE = re.compile(
    r"^(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?P<zone>Z|[+-]\d{2}:\d{2})?)?$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LITERAL_PATIENT = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class _Bad(ValueError):
    """Why one resource cannot be used (the message names the element)."""


@dataclass(frozen=True)
class _Pos:
    """Where a resource is: its file and line (NDJSON), or its file and Bundle entry (0-based, FHIRPath's
    `entry[i]`)."""

    file: str
    line: int = 0
    entry: int | None = None

    def __str__(self) -> str:
        return f"{self.file} entry[{self.entry}]" if self.entry is not None else (
            f"{self.file}:{self.line}" if self.line else self.file)

    def problem(self, message: str) -> ReadResult:
        prefix = f"entry[{self.entry}] " if self.entry is not None else ""
        return ReadResult(self.file, None, [ParseProblem(self.file, self.line, f"{prefix}{message}")])


# ------------------------------------------------------------------------------------------ JSON helpers


def _get(resource: dict, path: str, kind: type | tuple[type, ...], *, where: str = "") -> Any:
    """resource[path] when present, checked to be of `kind`; None when absent."""
    value = resource.get(path)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        expected = {dict: "an object", list: "a list", str: "a string"}.get(kind, "of another type")
        raise _Bad(f"{where}{path} must be {expected}")
    return value


def _string(resource: dict, path: str, *, where: str = "") -> str | None:
    value = _get(resource, path, str, where=where)
    return value.strip() or None if value is not None else None


def _concept_text(concept: Any, where: str) -> str | None:
    """A CodeableConcept's text, else its first coding's display, else that coding's code."""
    if concept is None:
        return None
    if not isinstance(concept, dict):
        raise _Bad(f"{where} must be an object")
    text = _string(concept, "text", where=f"{where}.")
    if text:
        return text
    for i, coding in enumerate(_get(concept, "coding", list, where=f"{where}.") or []):
        if not isinstance(coding, dict):
            raise _Bad(f"{where}.coding[{i}] must be an object")
        value = _string(coding, "display", where=f"{where}.coding[{i}].") or _string(
            coding, "code", where=f"{where}.coding[{i}].")
        if value:
            return value
    return None


def _field(value: str | None, limit: int) -> str | None:
    """A short text for a note field: control characters become spaces, cut to the column's length."""
    if not value:
        return None
    cleaned = " ".join(_CONTROL.sub(" ", value).split())
    return cleaned[:limit] or None


def _when(value: Any, where: str) -> str | None:
    """A FHIR date/dateTime/instant as an ISO 8601 time with a zone (see the module docstring)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{where} must be a string")
    match = _FHIR_DATE.match(value.strip())
    if match is None:
        raise _Bad(f"{where} is not a FHIR date or time")
    day = match["date"] + "-01" * (2 - match["date"].count("-"))
    if match["time"] and not match["zone"]:
        raise _Bad(f"{where} has a time but no time zone (FHIR requires one)")
    text = f"{day}T{match['time']}{match['zone']}" if match["time"] else f"{day}T00:00:00+00:00"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"{where} is not a valid date or time") from None
    return parsed.astimezone(UTC).isoformat() if parsed.tzinfo else parsed.replace(tzinfo=UTC).isoformat()


def _reference(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad(f"{where} must be a Reference object")
    return value


# -------------------------------------------------------------------------------------------- context


@dataclass
class _Context:
    """What notes refer to, from every file: keys are `Type/id`, and `fullUrl`s within Bundles."""

    patients: dict[str, str] = field(default_factory=dict)  # key -> pseudonymous id
    encounters: dict[str, dict] = field(default_factory=dict)  # key -> {"unit", "start"}
    names: dict[str, str] = field(default_factory=dict)  # Organization / Location key -> name
    bad: dict[str, str] = field(default_factory=dict)  # key -> where the malformed resource is

    def lookup(self, table: dict, reference: str) -> Any:
        if reference in table:
            return table[reference]
        parts = reference.split("/")
        if len(parts) >= 2 and "_history" in parts:
            parts = parts[: parts.index("_history")]
        return table.get("/".join(parts[-2:])) if len(parts) >= 2 else None


def _keys(resource: dict, full_url: Any) -> list[str]:
    keys = []
    if isinstance(resource.get("id"), str) and resource["id"]:
        keys.append(f"{resource['resourceType']}/{resource['id']}")
    if isinstance(full_url, str) and full_url:
        keys.append(full_url)
    return keys


def _patient_id(resource: dict, full_url: Any) -> str:
    for i, identifier in enumerate(_get(resource, "identifier", list) or []):
        if not isinstance(identifier, dict):
            raise _Bad(f"identifier[{i}] must be an object")
        if identifier.get("system") == PATIENT_SYSTEM and _string(identifier, "value", where=f"identifier[{i}]."):
            return identifier["value"].strip()
    logical = _string(resource, "id")
    if logical:
        return logical
    if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
        return full_url.removeprefix("urn:uuid:")
    raise _Bad("a Patient needs an id (or this app's pseudonymous identifier)")


def _learn(context: _Context, resource: dict, full_url: Any, where: _Pos) -> ReadResult | None:
    """Record a Patient, Encounter, Organization or Location; a ReadResult with its problem when malformed."""
    kind = resource["resourceType"]
    keys = _keys(resource, full_url)
    try:
        if kind == "Patient":
            pid = _patient_id(resource, full_url)
            if len(pid) > MAX_PATIENT or _CONTROL.search(pid):
                raise _Bad(f"the patient identifier is longer than {MAX_PATIENT} characters or holds control characters")
            for key in keys:
                context.patients[key] = pid
        elif kind == "Encounter":
            period = _get(resource, "period", dict) or {}
            provider = _reference(resource.get("serviceProvider"), "serviceProvider")
            locations = _get(resource, "location", list) or []
            first = locations[0] if locations and isinstance(locations[0], dict) else {}
            location = _reference(first.get("location"), "location[0].location") if first else None
            entry = {"start": _when(period.get("start"), "period.start"), "provider": provider, "location": location}
            for key in keys:
                context.encounters[key] = entry
        else:
            name = _string(resource, "name")
            if name:
                for key in keys:
                    context.names[key] = name
    except _Bad as exc:
        for key in keys:
            context.bad[key] = str(where)
        return where.problem(f"{kind}: {exc}")
    return None


# ------------------------------------------------------------------------------------------------ notes


_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:-]+)\"?", re.IGNORECASE)


def _codec(content_type: str) -> str:
    """The Python codec of a text/plain contentType's charset (UTF-8 when it names none); only text encodings."""
    match = _CHARSET.search(content_type)
    if not match:
        return "utf-8"
    try:
        name = codecs.lookup(match.group(1)).name
    except LookupError:
        raise _Bad(f"unknown charset {match.group(1)[:40]!r}") from None
    # Only character encodings: Python also knows "codecs" such as zlib or base64 that must never run on input.
    if name in ("utf-8", "ascii") or name.startswith(("utf-16", "utf-32", "iso8859-", "cp125", "latin")):
        return name
    raise _Bad(f"charset {match.group(1)[:40]!r} is not a text encoding this import reads")


def _text(resource: dict, max_bytes: int) -> str:
    contents = _get(resource, "content", list)
    if not contents:
        raise _Bad("content is missing (a DocumentReference needs an attachment)")
    seen = []
    for i, content in enumerate(contents):
        where = f"content[{i}].attachment"
        if not isinstance(content, dict) or not isinstance(content.get("attachment"), dict):
            raise _Bad(f"{where} must be an object")
        attachment = content["attachment"]
        content_type = _string(attachment, "contentType", where=f"{where}.") or ""
        seen.append(content_type or "no contentType")
        if content_type.split(";")[0].strip().lower() != "text/plain":
            continue
        data = _get(attachment, "data", str, where=f"{where}.")
        if data is None:
            if attachment.get("url"):
                raise _Bad(f"{where} gives only a url: the text must be inline (data); nothing is fetched")
            raise _Bad(f"{where} has no data")
        compact = "".join(data.split())
        if len(compact) > (max_bytes + 2) // 3 * 4:
            raise _Bad(f"{where}.data is larger than the per-note limit of {max_bytes} bytes")
        try:
            raw = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise _Bad(f"{where}.data is not valid base64") from None
        size = attachment.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size != len(raw)):
            raise _Bad(f"{where}.size says {str(size)[:20]} bytes, the data holds {len(raw)}")
        digest = attachment.get("hash")
        if digest is not None:
            if not isinstance(digest, str) or base64.b64encode(hashlib.sha1(raw).digest()).decode() != digest.strip():
                raise _Bad(f"{where}.hash is not the SHA-1 of the data")
        codec = _codec(content_type)
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise _Bad(f"{where}.data is not valid {codec}: byte 0x{raw[exc.start:exc.start + 1].hex()} at byte "
                       f"offset {exc.start}") from None
        text = text.removeprefix("\ufeff")
        if "\x00" in text:
            raise _Bad(f"{where}.data holds NUL characters")
        if not text.strip():
            raise _Bad(f"{where}.data is empty")
        return text
    raise _Bad(f"no text/plain attachment (found: {', '.join(s[:40] for s in seen[:5])})")


def _note_id(resource: dict) -> str:
    identifiers = _get(resource, "identifier", list) or []
    for i, identifier in enumerate(identifiers):
        if not isinstance(identifier, dict):
            raise _Bad(f"identifier[{i}] must be an object")
    ours = [i for i in identifiers if i.get("system") == NOTE_SYSTEM and isinstance(i.get("value"), str)]
    master = _get(resource, "masterIdentifier", dict)
    candidates = [
        *(i["value"] for i in ours),
        master.get("value") if master else None,
        *(i.get("value") for i in identifiers),
    ]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            note_id = value.strip()
            break
    else:
        logical = _string(resource, "id")
        if not logical:
            raise _Bad("no identifier and no id to name the note by")
        note_id = f"DocumentReference/{logical}"
    if len(note_id) > MAX_ID or _CONTROL.search(note_id):
        raise _Bad(f"the note identifier is longer than {MAX_ID} characters or holds control characters")
    return note_id


def _patient(resource: dict, context: _Context) -> str | None:
    subject = _reference(resource.get("subject"), "subject")
    if subject is None:
        return None
    reference = _get(subject, "reference", str, where="subject.")
    if reference:
        if context.lookup(context.bad, reference) is not None:
            raise _Bad(f"its subject {reference[:80]} is malformed (see {context.lookup(context.bad, reference)})")
        found = context.lookup(context.patients, reference)
        if found:
            return found
        literal = _LITERAL_PATIENT.search(reference)
        if literal:
            return literal.group(1)
        raise _Bad(f"subject {reference[:80]!r} is not a Patient in this input")
    identifier = _get(subject, "identifier", dict, where="subject.")
    value = _string(identifier, "value", where="subject.identifier.") if identifier else None
    if value and len(value) <= MAX_PATIENT and not _CONTROL.search(value):
        return value
    return None


def _encounter(resource: dict, context: _Context) -> dict | None:
    ctx = _get(resource, "context", dict) or {}
    for i, reference in enumerate(_get(ctx, "encounter", list, where="context.") or []):
        reference = _reference(reference, f"context.encounter[{i}]") or {}
        target = reference.get("reference")
        if isinstance(target, str) and target:
            found = context.lookup(context.encounters, target)
            if found is not None:
                return found
    return None


def _unit(resource: dict, encounter: dict | None, context: _Context) -> str | None:
    if encounter:
        for key in ("provider", "location"):
            reference = encounter.get(key)
            if not reference:
                continue
            display = reference.get("display") if isinstance(reference.get("display"), str) else None
            target = reference.get("reference")
            name = display or (context.lookup(context.names, target) if isinstance(target, str) else None)
            if name:
                return name
    ctx = _get(resource, "context", dict) or {}
    return _concept_text(ctx.get("practiceSetting"), "context.practiceSetting") or _concept_text(
        ctx.get("facilityType"), "context.facilityType")


def _note(resource: dict, context: _Context, max_bytes: int) -> Document:
    status = resource.get("status")
    if status == "entered-in-error":
        raise _Bad("its status is entered-in-error: not imported")
    note_id = _note_id(resource)
    text = _text(resource, max_bytes)
    encounter = _encounter(resource, context)
    ctx = _get(resource, "context", dict) or {}
    period = _get(ctx, "period", dict, where="context.") or {}
    contents = resource.get("content") or []
    creation = next((c["attachment"].get("creation") for c in contents
                     if isinstance(c, dict) and isinstance(c.get("attachment"), dict)
                     and c["attachment"].get("creation")), None)
    timestamp = (_when(resource.get("date"), "date") or _when(period.get("start"), "context.period.start")
                 or (encounter or {}).get("start") or _when(creation, "content.attachment.creation"))
    categories = _get(resource, "category", list) or []
    note_type = _concept_text(resource.get("type"), "type") or (
        _concept_text(categories[0], "category[0]") if categories else None)
    metadata: dict[str, Any] = {"source": "fhir", "fhir_resource": f"DocumentReference/{resource.get('id')}"
                                if isinstance(resource.get("id"), str) else "DocumentReference"}
    patient = _patient(resource, context)
    if patient:
        metadata["patient"] = patient
    if timestamp:
        metadata["timestamp"] = timestamp
    if note_type := _field(note_type, MAX_FIELD):
        metadata["note_type"] = note_type
    if unit := _field(_unit(resource, encounter, context), MAX_FIELD):
        metadata["unit"] = unit
    return Document(id=note_id, text=text, metadata=metadata)


def _one(resource: Any, context: _Context, where: _Pos, max_bytes: int) -> ReadResult | None:
    """The ReadResult of one resource: a note, a problem, or None for a resource that is not a note."""
    if not isinstance(resource, dict):
        return where.problem("the resource must be a JSON object")
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        return where.problem("resourceType is missing")
    if kind != "DocumentReference":
        return None
    label = f"DocumentReference/{resource['id']}"[:120] if isinstance(resource.get("id"), str) else "DocumentReference"
    try:
        return ReadResult(where.file, _note(resource, context, max_bytes), [])
    except _Bad as exc:
        return where.problem(f"{label}: {exc}")
    except RecursionError:
        return where.problem(f"{label}: nested too deeply")
    except Exception as exc:  # noqa: BLE001 - one resource's failure, whatever it is, costs only that resource
        return where.problem(f"{label}: could not be read ({type(exc).__name__})")


# ------------------------------------------------------------------------------------------- the files


def _entries(document: Any, file: str) -> Iterator[tuple[Any, Any, _Pos]]:
    """(resource, fullUrl, position) of a whole-file JSON: a Bundle's entries, or one resource."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise _Bad("not a FHIR resource (a JSON object with a resourceType)")
    if document["resourceType"] != "Bundle":
        yield document, None, _Pos(file)
        return
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise _Bad("Bundle.entry must be a list")
    for i, entry in enumerate(entries):
        where = _Pos(file, entry=i)
        if not isinstance(entry, dict):
            yield None, None, where
        else:
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
                yield {"resourceType": "_nested"}, None, where
            else:
                yield resource, entry.get("fullUrl"), where


def _resources(corpus: Corpus, member: str, max_line: int) -> Iterator[tuple[Any, Any, _Pos] | ReadResult]:
    """Every resource of a file with its position; a ReadResult for a line or file that cannot be parsed."""
    suffix = PurePosixPath(member).suffix.lower()
    if suffix == ".json":
        data = corpus.read(member)
        if len(data) > BUNDLE_MAX_BYTES:
            yield _Pos(member).problem(f"a Bundle is read whole and this one holds {len(data):,} bytes, over the "
                                       f"limit of {BUNDLE_MAX_BYTES:,}: send it as NDJSON (one resource a line)")
            return
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            yield _Pos(member).problem(f"not valid UTF-8 at byte offset {exc.start}")
            return
        except RecursionError:
            yield _Pos(member).problem("the JSON is nested too deeply")
            return
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                yield _Pos(member, line=exc.lineno).problem(f"invalid JSON: {exc.msg} at column {exc.colno}")
                return
            document = None  # several JSON values: NDJSON in a .json file
        if document is not None:
            try:
                yield from _entries(document, member)
            except _Bad as exc:
                yield _Pos(member).problem(str(exc))
            return
    for number, raw in corpus.lines(member):
        where = _Pos(member, line=number)
        if raw is None:
            yield where.problem(f"the line is longer than the per-note limit of {max_line} bytes")
            continue
        if not raw.strip():
            continue
        try:
            yield json.loads(raw.decode("utf-8-sig")), None, where
        except UnicodeDecodeError as exc:
            yield where.problem(f"not valid UTF-8 at byte offset {exc.start}")
        except RecursionError:
            yield where.problem("the JSON is nested too deeply")
        except json.JSONDecodeError as exc:
            yield where.problem(f"invalid JSON: {exc.msg} at column {exc.colno}")


def read_fhir(
    path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[ReadResult]:
    """Read FHIR R4 DocumentReferences (with their Patients and Encounters) from a Bundle `.json`, NDJSON
    (`.ndjson`, `.jsonl`), or a folder or .zip of them, one ReadResult per DocumentReference and per malformed
    resource (see the module docstring). `max_member_bytes` caps one note's text (and one NDJSON line)."""
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        members = [m for m in corpus.members if PurePosixPath(m).suffix.lower() in FHIR_SUFFIXES]
        context = _Context()
        for member in members:  # pass 1: what notes refer to
            for item in _resources(corpus, member, max_member_bytes):
                if isinstance(item, ReadResult):
                    continue  # reported in pass 2
                resource, full_url, where = item
                if isinstance(resource, dict) and resource.get("resourceType") in CONTEXT_TYPES:
                    bad = _learn(context, resource, full_url, where)
                    if bad is not None:
                        yield bad
        for member in members:  # pass 2: the notes
            for item in _resources(corpus, member, max_member_bytes):
                if isinstance(item, ReadResult):
                    yield item
                    continue
                resource, full_url, where = item
                if isinstance(resource, dict) and resource.get("resourceType") == "_nested":
                    yield where.problem("a Bundle inside a Bundle is not read")
                    continue
                result = _one(resource, context, where, max_member_bytes)
                if result is not None:
                    yield result
