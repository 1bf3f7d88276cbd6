"""Import a corpus (directory or .zip) into a project.

reader (annotations.formats) -> rule check -> bulk-saving writer. A document with any
problem is reported (file, line, reason) and skipped; the others are imported. Valid
documents are written in batches inside one transaction each; if a batch fails in the
database, it is retried one document per transaction so that only the offending
document is skipped and nothing is ever half-imported.

Two imports of one corpus at once: the second waits on the first one's uncommitted notes (the unique
note id), then finds them committed. Such a note counts as "already present" (it is: with the same
text), not as skipped, so the report says what is in the database.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from annotations.formats import registry
from annotations.formats.brat_conf import load_schema
from annotations.formats.detect import format_mismatch_hint
from annotations.formats.document import Document, FormatError, ParseProblem
from annotations.formats.infer import schema_infer
from annotations.formats.schema import Schema
from annotations.models import (
    AnnotationSchema,
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Note,
    Origin,
    Patient,
    Project,
)
from annotations.signals import notes_imported

from .annotation_sets import annotation_set_check
from .document_store import annotation_sets_write
from .schemas import project_schema_get, project_schema_set, schema_from_dict, schema_merge

logger = logging.getLogger(__name__)

NOTE_FIELDS = ("unit", "author_role", "note_type")


@dataclass
class ImportReport:
    imported: int = 0
    already_present: int = 0
    skipped: list[ParseProblem] = field(default_factory=list)
    entities: int = 0
    relations: int = 0
    events: int = 0
    schema_source: str = ""

    skipped_documents: int = 0  # documents left out; one may have several problems in `skipped`
    hint: str = ""  # what to do when nothing could be imported (e.g. the files look like another format)

    def skip(self, problems: list[ParseProblem]) -> None:
        self.skipped.extend(problems)
        self.skipped_documents += 1

    def summary(self) -> str:
        lines = [
            f"imported {self.imported} notes ({self.entities} entities, {self.relations} relations, "
            f"{self.events} events); {self.already_present} already present; "
            f"{self.skipped_documents} skipped; schema: {self.schema_source}"
            + (f"; {self.hint}" if self.hint else "")
        ]
        lines += [f"  skipped {p}" for p in self.skipped]
        return "\n".join(lines)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def project_get_or_create(*, slug: str, name: str | None = None) -> Project:
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return project


def _schema_from_files(path: Path) -> tuple[Schema, str, str]:
    """A schema from an annotation.conf file, or a directory holding annotation.conf (+ visual.conf).

    Raises FormatError (file, line, reason) when either file is malformed.
    """
    conf = path / "annotation.conf" if path.is_dir() else path
    annotation_conf = conf.read_text(encoding="utf-8")
    visual_path = conf.with_name("visual.conf")
    visual_conf = visual_path.read_text(encoding="utf-8") if visual_path.exists() else None
    schema = load_schema(annotation_conf, visual_conf, source=str(conf), visual_source=str(visual_path))
    return schema, annotation_conf, visual_conf or ""


def _resolve_schema(
    project: Project, path: Path, schema_path: Path | None, max_bytes: int, max_member_bytes: int, report
) -> Schema | None:
    """The schema to validate against: given > shipped with the corpus > the project's > None (inferred from
    the data during the import)."""
    if schema_path is not None:
        schema, conf, visual = _schema_from_files(schema_path)
        project_schema_set(project=project, schema=schema, inferred=False, annotation_conf=conf, visual_conf=visual)
        report.schema_source = f"given ({schema_path})"
        return schema
    shipped = registry.find_schema(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes)
    stored = AnnotationSchema.objects.filter(project=project).first()
    if shipped is not None and (stored is None or stored.inferred):
        project_schema_set(project=project, schema=shipped, inferred=False)
        report.schema_source = "annotation.conf in the corpus"
        return shipped
    if stored is not None and not stored.inferred:
        report.schema_source = "the project's"
        return schema_from_dict(stored.definition)
    # No schema anywhere: it is inferred from the documents as they are imported (see corpus_import).
    report.schema_source = "inferred from the data"
    return None


def corpus_import(
    *,
    project: Project,
    path: Path,
    fmt: str,
    schema_path: Path | None = None,
    source_name: str = "import",
    status: str = AnnotationSetStatus.GOLD,
    batch_size: int = 200,
    max_bytes: int | None = None,
    max_member_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import every document of a corpus into `project`; returns what was imported and what was skipped.

    Notes already in the project with the same external id and text are left alone (re-importing does
    not duplicate); the same id with a different text is refused (note text is immutable). The archive
    may expand to `max_bytes` (ADE_REVIEW_MAX_IMPORT_BYTES), one document to `max_member_bytes`
    (ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES). Errors: FormatError when the corpus is refused whole, or holds no
    document of format `fmt` (the problem says which format its files look like).
    """
    path = Path(path)
    max_bytes = max_bytes or settings.ADE_REVIEW_MAX_IMPORT_BYTES
    max_member_bytes = max_member_bytes or settings.ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES
    report = ImportReport()
    results = registry.read_corpus(path, fmt, max_bytes=max_bytes, max_member_bytes=max_member_bytes)
    first = next(results, None)
    if first is None:
        # Nothing of that format in the corpus (a wrong format, or an empty archive): an error, not
        # "imported 0 notes"; checked before anything (the schema included) is written.
        detected = registry.corpus_format_detect(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes)
        raise FormatError(
            ParseProblem(path.name, 0, f"no {fmt} documents found; {format_mismatch_hint(fmt, detected)}")
        )
    schema = _resolve_schema(project, path, schema_path, max_bytes, max_member_bytes, report)
    # Without a schema, one is inferred batch by batch; checking documents against a schema inferred
    # from themselves could never fail, so they get the structural checks only.
    inferred: Schema | None = None
    seen: set[str] = set()
    batch: list[tuple[str, Document]] = []
    done = 0

    def flush() -> None:
        nonlocal batch, inferred
        if batch:
            if schema is None:
                found = schema_infer(doc for _, doc in batch)
                inferred = schema_merge(inferred, found) if inferred is not None else found
            _write_batch(project, batch, source_name, status, report)
            batch = []

    for result in itertools.chain([first], results):
        done += 1
        if not result.ok:
            report.skip(result.problems or [ParseProblem(result.source, 0, "could not be read")])
            continue
        doc = result.document
        # Readers already ran the structural checks (result.ok); what is left is the schema.
        problems = _schema_problems(doc, schema, result) if schema is not None else []
        if doc.id in seen:
            problems.append(ParseProblem(result.source, 0, f"document id {doc.id!r} occurs twice in the corpus"))
        if problems:
            report.skip(problems)
            continue
        seen.add(doc.id)
        batch.append((result.source, doc))
        if len(batch) >= batch_size:
            flush()
        if progress:
            progress(done, report.imported)
    flush()
    if not report.imported and not report.already_present and report.skipped_documents:
        detected = registry.corpus_format_detect(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes)
        if detected and detected != fmt:
            report.hint = format_mismatch_hint(fmt, detected)
    if schema is None and inferred is not None:
        current = project_schema_get(project=project)
        project_schema_set(
            project=project, schema=schema_merge(current, inferred) if current else inferred, inferred=True
        )
    if progress:
        progress(done, report.imported)
    logger.info(
        "corpus import into %s: %d imported, %d present, %d skipped",
        project.slug, report.imported, report.already_present, report.skipped_documents,
    )
    return report


def _schema_problems(doc: Document, schema: Schema, result) -> list[ParseProblem]:
    """The schema check of one document; whatever goes wrong in it is that document's problem alone."""
    try:
        return annotation_set_check(document=doc, schema=schema, source=result.source, lines=result.lines)
    except Exception as exc:  # noqa: BLE001 - one document never stops the import
        return [ParseProblem(result.source, 0, f"could not be checked ({type(exc).__name__})")]


def _present(project: Project, batch: list[tuple[str, Document]], report) -> list[tuple[str, Document]]:
    """The documents of `batch` not yet in the project; the others are counted: already present (same
    text) or skipped (the same id with another text: note text is immutable)."""
    existing = dict(
        Note.objects.filter(project=project, external_id__in=[d.id for _, d in batch]).values_list(
            "external_id", "text_hash"
        )
    )
    fresh = []
    for source, doc in batch:
        if doc.id in existing:
            if existing[doc.id] == text_hash(doc.text):
                report.already_present += 1
            else:
                report.skip(
                    [ParseProblem(source, 0, f"note {doc.id!r} exists with a different text (note text is immutable)")]
                )
            continue
        fresh.append((source, doc))
    return fresh


def _write_batch(project: Project, batch: list[tuple[str, Document]], source_name, status, report) -> None:
    fresh = _present(project, batch, report)
    if not fresh:
        return
    try:
        with transaction.atomic():
            notes = _insert(project, [d for _, d in fresh], source_name, status)
        _count(report, [d for _, d in fresh])
        _announce(project, notes)
    except DatabaseError:
        # Another import may have committed some of these notes meanwhile (it held them while this one
        # waited): count those as present, then find any offending document, one transaction each.
        for source, doc in fresh:
            if not _present(project, [(source, doc)], report):
                continue
            try:
                with transaction.atomic():
                    notes = _insert(project, [doc], source_name, status)
                _count(report, [doc])
                _announce(project, notes)
            except IntegrityError as exc:
                if _present(project, [(source, doc)], report):  # not a concurrent import: a real refusal
                    report.skip([_refusal(source, exc)])
            except DatabaseError as exc:
                report.skip([_refusal(source, exc)])


def _refusal(source: str, exc: DatabaseError) -> ParseProblem:
    reason = (str(exc).splitlines() or [""])[0][:200]  # the first line: the rule broken, not the row's values
    return ParseProblem(source, 0, f"refused by the database: {type(exc).__name__}: {reason}")


def _count(report: ImportReport, docs: list[Document]) -> None:
    report.imported += len(docs)
    report.entities += sum(len(d.entities) for d in docs)
    report.relations += sum(len(d.relations) for d in docs)
    report.events += sum(len(d.events) for d in docs)


def _announce(project: Project, notes: list[Note]) -> None:
    transaction.on_commit(
        lambda: notes_imported.send(
            sender=Note,
            project=project,
            note_ids=[n.pk for n in notes],
            patient_ids=sorted({n.patient_id for n in notes if n.patient_id}),
        )
    )


def _insert(project: Project, docs: list[Document], source_name: str, status: str) -> list[Note]:
    patients = {}
    patient_ids = {str(d.metadata["patient"]) for d in docs if d.metadata.get("patient")}
    if patient_ids:
        Patient.objects.bulk_create(
            [Patient(project=project, external_id=pid) for pid in patient_ids], ignore_conflicts=True
        )
        patients = {p.external_id: p for p in Patient.objects.filter(project=project, external_id__in=patient_ids)}
    notes = []
    for d in docs:
        meta = dict(d.metadata)
        timestamp = meta.pop("timestamp", None)
        patient = meta.pop("patient", None)
        notes.append(
            Note(
                project=project,
                external_id=d.id,
                text=d.text,
                text_hash=text_hash(d.text),
                timestamp=parse_datetime(timestamp) if isinstance(timestamp, str) else timestamp,
                patient=patients.get(str(patient)) if patient else None,
                metadata={k: v for k, v in meta.items() if k not in NOTE_FIELDS and not k.startswith("_")},
                **{k: str(meta[k]) for k in NOTE_FIELDS if meta.get(k)},
            )
        )
    Note.objects.bulk_create(notes)
    sets = AnnotationSet.objects.bulk_create(
        [
            AnnotationSet(note=n, source_kind=AnnotationSetSource.IMPORT, source_name=source_name, status=status)
            for n in notes
        ]
    )
    annotation_sets_write(list(zip(sets, docs, strict=True)), origin=Origin.IMPORT)
    return notes
