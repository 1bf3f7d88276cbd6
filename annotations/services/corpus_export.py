"""Export a project's notes with one chosen annotation set each, streaming.

selector (keyset-paginated notes) -> Documents -> format writer. Memory holds one
chunk of notes at a time whatever the corpus size. An export file (a .zip, .jsonl or .conll) is created
0640 (clinical notes: never world-readable); a failed export leaves no partial file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
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
SOURCE_HELP = "gold (the notes' gold, as training reads it) | submitted (latest submitted or gold) | user:NAME | model:VERSION | import:NAME"


def annotation_set_filter(source: str) -> Q:
    """Which annotation sets an export source selects (for "gold" the sets the gold rule may pick from;
    `project_documents` then applies the rule itself, annotations.gold)."""
    if source == "gold":
        return Q(status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD]) & ~Q(source_kind="model")
    if source in ("submitted", "latest-submitted"):
        return Q(status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD])
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


def corpus_export(
    *,
    project: Project,
    out: Path,
    fmt: str,
    source: str = "gold",
    only_annotated: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the project's notes to `out` (a directory, or a .zip); returns the number of notes written.

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

    def counted() -> Iterator[Document]:
        for n, doc in enumerate(project_documents(project=project, source=source, only_annotated=only_annotated), 1):
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
