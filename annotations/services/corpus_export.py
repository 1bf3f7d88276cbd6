"""Export a project's notes with one chosen annotation set each, streaming; or (source "annotators") every
annotator's set of each note and the note's gold, so that agreement can be recomputed elsewhere.

selector (keyset-paginated notes) -> Documents -> format writer. Memory holds one
chunk of notes at a time whatever the corpus size. An export file (a .zip, .jsonl or .conll) is created
0640 (clinical notes: never world-readable); a failed export leaves no partial file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from django.db.models import Q

from annotations.errors import ApplicationError
from annotations.formats import registry
from annotations.formats.document import Document
from annotations.gold import gold_sets
from annotations.models import AnnotationSet, AnnotationSetStatus, Note, Project

from .document_store import annotation_sets_to_documents, note_metadata
from .schemas import project_schema_get

logger = logging.getLogger(__name__)

EXPORT_FILE_MODE = 0o640
SOURCE_HELP = ("gold (the notes' gold, as training reads it) | submitted (latest submitted or gold) | annotators (every "
               "annotator's submitted set and the gold: brat folders annotators/NAME/ and gold/, JSONL lines with "
               "their source) | user:NAME | model:VERSION | import:NAME")
ANNOTATORS = "annotators"


def annotation_set_filter(source: str) -> Q:
    """Which annotation sets an export source selects (for "gold" the sets the gold rule may pick from;
    `project_documents` then applies the rule itself, annotations.gold)."""
    if source == "gold":
        return Q(status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD]) & ~Q(source_kind="model")
    if source in ("submitted", "latest-submitted"):
        return Q(status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD])
    if source == ANNOTATORS:  # what agreement compares: people's submitted or signed-off sets
        return Q(source_kind="user", status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD])
    kind, _, name = source.partition(":")
    if kind == "user" and name:
        return Q(source_kind="user", user__username=name)
    if kind == "model" and name:
        return Q(source_kind="model", model_version__name=name)
    if kind == "import" and name:
        return Q(source_kind="import", source_name=name)
    raise ApplicationError("bad_source", f"Unknown annotation source {source!r}; use {SOURCE_HELP}.")


def project_documents(
    *, project: Project, source: str, only_annotated: bool = False, chunk_size: int = 500
) -> Iterator[Document]:
    """Every note of a project (in id order) as a Document with the chosen annotation set's annotations."""
    chosen = annotation_set_filter(source)
    last_pk = 0
    while True:
        notes = list(Note.objects.filter(project=project, pk__gt=last_pk).order_by("pk")[:chunk_size])
        if not notes:
            return
        last_pk = notes[-1].pk
        # The newest matching set per note wins.
        picked: dict[int, AnnotationSet] = {}
        candidates = AnnotationSet.objects.filter(chosen, note__in=notes)
        if source == "gold":  # exactly what training and held-out scoring read: the one gold rule
            candidates = AnnotationSet.objects.filter(
                pk__in=list(gold_sets(project=project, note_ids=[n.pk for n in notes]).set_ids().values())
            )
        for aset in candidates.select_related("note").order_by("note_id", "-updated_at", "-pk"):
            picked.setdefault(aset.note_id, aset)
        documents = annotation_sets_to_documents(picked.values())
        for note in notes:
            aset = picked.get(note.pk)
            if aset is not None:
                yield documents[aset.pk]
            elif not only_annotated:
                yield Document(id=note.external_id, text=note.text, metadata=note_metadata(note))


def project_documents_per_annotator(*, project: Project, fmt: str, chunk_size: int = 200) -> Iterator[Document]:
    """Every annotated note (in id order) once per annotator who submitted it (or whose set was signed off),
    then once as its gold (the gold rule, annotations.gold: a finished curation, a sign-off, a single
    submission, an imported gold corpus); notes without either are left out.

    For brat and CoNLL each copy's id puts it in a folder, `annotators/USERNAME/ID` and `gold/ID`; for JSONL
    the id stays the note's and `metadata["annotation_source"]` says whose it is: {"kind": "annotator",
    "annotator", "annotation_set", "status"} or {"kind": "gold", "annotation_set", "source_kind",
    "source_name", "curated_from"} (the sets a curation merged)."""
    people = annotation_set_filter(ANNOTATORS)
    last_pk = 0
    while True:
        notes = list(Note.objects.filter(project=project, pk__gt=last_pk).order_by("pk")[:chunk_size])
        if not notes:
            return
        last_pk = notes[-1].pk
        annotator_sets = list(
            AnnotationSet.objects.filter(people, note__in=notes).select_related("note", "user").order_by("note_id", "pk")
        )
        gold_ids = gold_sets(project=project, note_ids=[n.pk for n in notes]).set_ids()
        golds = {s.note_id: s for s in AnnotationSet.objects.filter(pk__in=list(gold_ids.values())).select_related("note")}
        documents = annotation_sets_to_documents([*annotator_sets, *golds.values()])
        by_note: dict[int, list[AnnotationSet]] = {}
        for aset in annotator_sets:
            by_note.setdefault(aset.note_id, []).append(aset)
        for note in notes:
            for aset in by_note.get(note.pk, []):
                yield _with_source(documents[aset.pk], fmt, f"annotators/{aset.user.username}", {
                    "kind": "annotator", "annotator": aset.user.username, "annotation_set": aset.pk,
                    "status": aset.status,
                })
            gold = golds.get(note.pk)
            if gold is not None:
                yield _with_source(documents[gold.pk], fmt, "gold", {
                    "kind": "gold", "annotation_set": gold.pk, "source_kind": gold.source_kind,
                    "source_name": gold.source_name, "curated_from": gold.curated_from,
                })


def _with_source(doc: Document, fmt: str, folder: str, source: dict) -> Document:
    if fmt == "jsonl":
        return replace(doc, metadata={**doc.metadata, "annotation_source": source})
    return replace(doc, id=f"{folder}/{doc.id}")


def corpus_export(
    *,
    project: Project,
    out: Path,
    fmt: str,
    source: str = "gold",
    only_annotated: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the project's notes to `out` (a directory, or a .zip); returns the number of documents written
(with source "annotators", a note counts once per annotator and once as gold).

    A file target is created 0640 before anything is written to it, and removed again when the export
    fails. Errors: ApplicationError `bad_source` before any file is created.
    """
    annotation_set_filter(source)  # fail before creating any file
    out = Path(out)
    is_file = out.suffix.lower() in (".zip", f".{fmt}")  # else a folder (the writers' own rule)
    if is_file:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, EXPORT_FILE_MODE))
        os.chmod(out, EXPORT_FILE_MODE)  # the mode of a file that existed before, and whatever the umask

    documents = (
        project_documents_per_annotator(project=project, fmt=fmt) if source == ANNOTATORS
        else project_documents(project=project, source=source, only_annotated=only_annotated)
    )

    def counted() -> Iterator[Document]:
        for n, doc in enumerate(documents, 1):
            yield doc
            if progress and n % 500 == 0:
                progress(n)

    try:
        written = registry.write_corpus(counted(), out, fmt, schema=project_schema_get(project=project))
    except BaseException:
        if is_file:
            out.unlink(missing_ok=True)
        raise
    logger.info("corpus export of %s: %d notes as %s", project.slug, written, fmt)
    return written
