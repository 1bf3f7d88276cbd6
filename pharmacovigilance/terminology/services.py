"""Loading a terminology, and proposing codes for annotated spans.

`terminology_load` reads the hospital's files with the framework-free readers
(pharmacovigilance.core.terminology) and stores them in ONE transaction that also retires the system's
previous version: look-ups see the old version until the commit and the new one after it, never a mix, and
a file with any problem loads nothing. The command (`load_terminology`), the admin upload (a job,
pharmacovigilance.terminology.job_kinds) and the benchmark all call it.

`normalizations_propose` is the pre-annotation step for codes: each Drug and reaction span of a model's
annotation set that has no normalization gets the best look-up hit as one (ATC for drugs, MedDRA LLT for
reactions), which the annotator's own set then starts from.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ade_review.storage import file_storage, stored_file_delete, stored_file_local_path
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.formats.archive import Corpus
from annotations.formats.document import FormatError
from annotations.models import AnnotationSet, AnnotationSetSource, Entity, Normalization
from pharmacovigilance.core.terminology import (
    READERS,
    SEARCH_LEVELS,
    HierarchyRecord,
    Problem,
    ProblemLog,
    Source,
    System,
    TermRecord,
    TooManyProblems,
    normalize_text,
    terminology_files,
)
from pharmacovigilance.terminology.models import Term, TermHierarchy, Terminology, TermWord

BATCH = 5000
MAX_PROBLEMS = 500  # reported up to here; past it reading stops (a wrong file gives one per line)
_VERSION = re.compile(r"[\w .()+-]{1,50}")


@dataclass(frozen=True)
class LoadResult:
    terminology: Terminology
    replaced: Terminology | None
    counts: dict[str, int]


def _refused(problems: list[Problem], *, more: bool = False) -> ApplicationError:
    first = problems[0]
    count = f"{len(problems)}{'+' if more else ''} problem{'s' if len(problems) != 1 or more else ''}"
    return ApplicationError(
        "terminology_refused",
        f"Nothing loaded: {count} in the files, first {first}",
        details={"problems": [{"file": p.file, "line": p.line, "reason": p.reason} for p in problems]},
    )


def terminology_version_check(version: str) -> str:
    """The version label, stripped; ApplicationError `bad_parameters` unless 1-50 letters, digits, spaces
    and . ( ) + - (it is shown in pages and written into exports)."""
    version = (version or "").strip()
    if not _VERSION.fullmatch(version):
        raise ApplicationError("bad_parameters", "The version is 1-50 letters, digits, spaces or . ( ) + - "
                                                 "(e.g. 27.0 or 2024-01).")
    return version


def terminology_load(
    *,
    by,
    system: str,
    version: str,
    files: str | os.PathLike,
    source_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LoadResult:
    """Load a terminology's files as the current version of `system`, replacing the previous one atomically.

    Args: `files` a folder, a .zip, or one file (ATC list, SNOMED CT description file); `by` the acting
    user (None from a command: the audit names the command); `source_name` what people see as the origin
    (default the file's name, never its server path); `progress(done, total)` in KiB read; `should_stop()`
    asked every few thousand records (a cancelled job), which rolls everything back.
    Result: the new Terminology, the one it replaced, and the counts per level.
    Errors: ApplicationError `bad_parameters` (system, version), `terminology_refused` (details.problems:
    every (file, line, reason) found, nothing loaded), `cancelled`, `load_busy` (another load of the
    system committed meanwhile).
    """
    if system not in READERS:
        raise ApplicationError("bad_parameters", f"Unknown terminology {str(system)[:20]!r}; known: "
                                                 f"{', '.join(READERS)}.")
    version = terminology_version_check(version)
    path = Path(files)
    name = (source_name or path.name)[:200]
    try:
        with Corpus(path, max_bytes=settings.ADE_REVIEW_MAX_TERMINOLOGY_BYTES,
                    max_member_bytes=settings.ADE_REVIEW_MAX_TERMINOLOGY_BYTES) as corpus:
            chosen, found = terminology_files(system, corpus.members)
            problems = ProblemLog(MAX_PROBLEMS, found)
            line_cap = settings.ADE_REVIEW_MAX_TERMINOLOGY_LINE_BYTES
            sources = {key: Source(member, lambda m=member: corpus.lines(m, max_line_bytes=line_cap))
                       for key, member in chosen.items()}
            total_kib = max(1, sum(corpus.size(m) for m in chosen.values()) // 1024)

            def read_kib() -> int:
                return min(total_kib, corpus.bytes_read // 1024)

            return _store(by=by, system=system, version=version, name=name, sources=sources, problems=problems,
                          progress=(lambda: progress(read_kib(), total_kib)) if progress else None,
                          should_stop=should_stop)
    except FormatError as exc:  # the archive itself: unsafe members, a bomb, unreadable
        raise _refused([Problem(p.file, p.line, p.message) for p in exc.problems]) from None


def _store(*, by, system, version, name, sources, problems, progress, should_stop) -> LoadResult:
    counts: Counter[str] = Counter()
    searchable = set(SEARCH_LEVELS[system])
    words: set[str] = set()
    terms: list[Term] = []
    paths: list[TermHierarchy] = []
    more = False
    try:
        with transaction.atomic():
            # Loads of one system queue behind each other (the current row's lock); the first ever load of a
            # system has no row to lock and a concurrent one fails on the one-current constraint (load_busy).
            previous = list(Terminology.objects.select_for_update().filter(system=system, current=True))
            new = Terminology.objects.create(system=system, version=version, current=False,
                                             loaded_by=by if getattr(by, "is_authenticated", False) else None,
                                             loaded_from=name)

            def flush() -> None:
                Term.objects.bulk_create(terms, batch_size=BATCH)
                TermHierarchy.objects.bulk_create(paths, batch_size=BATCH)
                terms.clear()
                paths.clear()
                if progress:
                    progress()
                if should_stop and should_stop():
                    raise ApplicationError("cancelled", "The load was cancelled: nothing loaded.")

            try:
                for record in READERS[system](sources, problems=problems):
                    if problems:
                        continue  # nothing will be stored: keep reading only to report every problem
                    if isinstance(record, HierarchyRecord):
                        counts["hierarchy"] += 1
                        paths.append(TermHierarchy(terminology=new, pt_code=record.pt_code,
                                                   hlt_code=record.hlt_code, hlgt_code=record.hlgt_code,
                                                   soc_code=record.soc_code, primary=record.primary))
                    else:
                        counts[record.level] += 1
                        term = _term(new, record)
                        terms.append(term)
                        if record.level in searchable and record.current:
                            words.update(w for w in term.normalized.split() if len(w) <= 100)
                    if len(terms) + len(paths) >= BATCH:
                        flush()
            except TooManyProblems:
                more = True
            if problems:
                raise _refused(list(problems), more=more)
            if not sum(v for k, v in counts.items() if k != "hierarchy"):
                raise _refused([Problem(name, 0, f"no {System(system).label} terms found in it")])
            flush()
            TermWord.objects.bulk_create([TermWord(terminology=new, word=w) for w in sorted(words)], batch_size=BATCH)
            if connection.vendor == "postgresql":
                # Fresh statistics, so the planner takes the look-up's indexes for a table that just grew by a
                # hundred thousand rows (a role that does not own the tables gets a warning, not an error).
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE terminology_term, terminology_termword")
            now = timezone.now()
            replaced = previous[0] if previous else None
            if previous:
                for model in (Term, TermHierarchy, TermWord):
                    model.objects.filter(terminology__in=previous).delete()
                Terminology.objects.filter(pk__in=[p.pk for p in previous]).update(current=False, replaced_at=now)
            new.current, new.counts, new.loaded_at = True, dict(counts), now
            new.save(update_fields=["current", "counts", "loaded_at"])
            audit_record(
                action=AuditAction.TERMINOLOGY_LOAD,
                actor=new.loaded_by,
                object_type="terminology",
                object_id=new.pk,
                details={"system": system, "version": version, "counts": dict(counts), "from": name,
                         "replaced": {"id": replaced.pk, "version": replaced.version} if replaced else None},
            )
    except IntegrityError as exc:
        raise ApplicationError("load_busy", f"Another {System(system).label} load finished meanwhile; load "
                                            "again if this version should replace it.", status=409) from exc
    return LoadResult(terminology=new, replaced=replaced, counts=dict(counts))


def _term(terminology: Terminology, record: TermRecord) -> Term:
    return Term(terminology=terminology, code=record.code, text=record.text, normalized=normalize_text(record.text),
                level=record.level, pt_code=record.pt_code, pt_text=record.pt_text, current=record.current)


# --- proposing codes for spans ---------------------------------------------------------------------------

# Which entity types are coded in which terminology (compared case-insensitively): the schemas the app
# ships (Drug, ADE), ADE-Corpus's (Drug, Adverse-Effect) and MACCROBAT's Medication.
DRUG_TYPES = frozenset({"drug", "medication"})
REACTION_TYPES = frozenset({"ade", "adverse-effect", "adverse_effect", "adverseeffect", "adverse_event",
                            "adverse_reaction", "reaction"})
DEFAULT_MINIMUM = 0.5


def entity_type_system(entity_type: str) -> str | None:
    """The terminology a span of this type is coded in (ATC, MedDRA), or None when none is."""
    kind = entity_type.lower()
    return System.ATC if kind in DRUG_TYPES else System.MEDDRA if kind in REACTION_TYPES else None


def normalizations_propose(*, by, annotation_sets: Iterable[AnnotationSet], minimum: float = DEFAULT_MINIMUM,
                           search: Callable | None = None) -> dict[str, int]:
    """Give each Drug and reaction span without a normalization the best look-up hit as one.

    Only model sets are written (pre-labels: a person's own set starts from its note's newest one; people's
    sets change only through the editor). Each changed set gets the new rows (resource ATC / MedDRA, the
    code, the term) and a new version, and its audit record, in one transaction per call.
    Args: `minimum` the lowest similarity (0..1) worth proposing; `search` the look-up (default
    selectors.term_search), for tests. Result: {"sets": changed, "proposed": rows, "unmatched": spans}.
    Errors: ApplicationError `not_a_model_set` for a set that is not a model's.
    """
    from pharmacovigilance.terminology.selectors import term_search, terminology_current

    search = search or term_search
    loaded = {s: terminology_current(system=s) is not None for s in (System.ATC, System.MEDDRA)}
    cache: dict[tuple[str, str], object] = {}
    out = Counter(sets=0, proposed=0, unmatched=0)
    with transaction.atomic():
        for aset in annotation_sets:
            if aset.source_kind != AnnotationSetSource.MODEL:
                raise ApplicationError("not_a_model_set", "Codes are proposed into a model's pre-labels only; "
                                                          "people's sets change through the editor.")
            locked = AnnotationSet.objects.select_for_update().select_related("note").get(pk=aset.pk)
            coded = set(Normalization.objects.filter(annotation_set=locked, entity__isnull=False)
                        .values_list("entity_id", flat=True))
            taken = set(Normalization.objects.filter(annotation_set=locked).values_list("local_id", flat=True))
            rows = []
            for entity in Entity.objects.filter(annotation_set=locked).exclude(pk__in=coded).order_by("pk"):
                system = entity_type_system(entity.type)
                if system is None or not loaded[system]:
                    continue
                key = (system, normalize_text(entity.text))
                if key not in cache:
                    hits = search(system=system, query=entity.text, limit=1) if key[1] else []
                    cache[key] = hits[0] if hits and hits[0].score >= minimum else None
                hit = cache[key]
                if hit is None:
                    out["unmatched"] += 1
                    continue
                local_id = _next_local_id(taken)
                rows.append(Normalization(annotation_set=locked, local_id=local_id, entity=entity,
                                          resource=System(system).resource, resource_id=hit.code,
                                          text=hit.text[:500]))
            if not rows:
                continue
            Normalization.objects.bulk_create(rows)
            AnnotationSet.objects.filter(pk=locked.pk).update(version=F("version") + 1, updated_at=timezone.now())
            out["sets"] += 1
            out["proposed"] += len(rows)
            audit_record(
                action=AuditAction.ANNOTATION_CHANGE,
                actor=by if getattr(by, "is_authenticated", False) else None,
                project=locked.note.project_id,
                note=locked.note_id,
                object_type="annotation_set",
                object_id=locked.pk,
                details={"operation": "codes_proposed", "normalizations": len(rows),
                         "version_before": locked.version, "version_after": locked.version + 1,
                         "codes": [{"entity": r.entity.local_id, "resource": r.resource, "id": r.resource_id}
                                   for r in rows]},
            )
    return dict(out)


def _next_local_id(taken: set[str]) -> str:
    numbers = [int(x[1:]) for x in taken if x[:1] == "N" and x[1:].isdigit()]
    local_id = f"N{max(numbers, default=0) + 1}"
    taken.add(local_id)
    return local_id


# --- uploads (the Terminologies page): stored for the load job, removed when it ends ----------------------

UPLOAD_SUFFIXES = (".zip", ".csv", ".tsv", ".txt")


def terminology_upload_root() -> PurePosixPath:
    """The key prefix under which uploaded terminology files wait for their load job in the one file store
    (`ade_review.storage`: the local disk, or the bucket every machine shares)."""
    return PurePosixPath("terminologies")


def terminology_upload_start(*, by, system: str, version: str, upload):
    """Store an uploaded terminology (a .zip of the MedAscii folder or of an RF2 release, an ATC .csv/.tsv,
    one SNOMED CT description .txt) and start its load job (job_kinds.TERMINOLOGY_LOAD); the file goes when
    the job ends, or at once when the job cannot start.

    Result: the Job. Errors: ApplicationError `forbidden` (403; not site staff), `bad_parameters` (system,
    version), `bad_upload` (no file, an empty one, another type), `upload_too_large` (413).
    """
    from annotations.permissions import user_may_load_terminologies
    from inference.jobs.engine import job_create

    if not user_may_load_terminologies(by):
        raise ApplicationError("forbidden", "Only site administrators load terminologies.", status=403)
    if system not in READERS:
        raise ApplicationError("bad_parameters", f"Unknown terminology {str(system)[:20]!r}; known: "
                                                 f"{', '.join(READERS)}.")
    version = terminology_version_check(version)
    name = Path(getattr(upload, "name", "") or "").name
    suffix = Path(name).suffix.lower()
    if upload is None or suffix not in UPLOAD_SUFFIXES:
        raise ApplicationError("bad_upload", f"{name or 'The file'}: a terminology is a .zip (MedDRA's MedAscii "
                                             "folder, a SNOMED CT release), or an ATC .csv/.tsv, or one SNOMED CT "
                                             "description .txt.")
    if not upload.size:
        raise ApplicationError("bad_upload", f"{name}: the file is empty.")
    limit = settings.ADE_REVIEW_MAX_TERMINOLOGY_BYTES
    if upload.size > limit:
        raise ApplicationError("upload_too_large", f"{name}: {upload.size:,} bytes, over the limit of {limit:,}.",
                               status=413)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._")[:100] or "upload"
    key = f"{terminology_upload_root()}/{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}/{stem}{suffix}"
    try:
        key = file_storage().save(key, upload)  # streamed in chunks (multipart into a bucket)
        own = stored_file_local_path(key)
        if own is not None:  # on the local disk: a licensed file, the app's user's only (0600 in 0700)
            os.chmod(own, 0o600)
            os.chmod(own.parent, 0o700)
        return job_create(project=None, kind="terminology_load", created_by=by,
                          parameters={"system": system, "version": version, "path": key, "source_name": name})
    except BaseException:
        stored_file_delete(key, own_folder=True)
        raise
