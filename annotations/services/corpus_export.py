"""Export a project's notes with one chosen annotation set each, streaming.

selector (keyset-paginated notes) -> Documents -> format writer. Memory holds one
chunk of notes at a time whatever the corpus size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db.models import Q

from annotations.errors import ApplicationError
from annotations.formats import registry
from annotations.formats.document import Document
from annotations.models import AnnotationSet, AnnotationSetStatus, Note, Project

from .document_store import annotation_sets_to_documents, note_metadata
from .schemas import project_schema_get

logger = logging.getLogger(__name__)

SOURCE_HELP = "gold | submitted (latest submitted or gold) | user:NAME | model:VERSION | import:NAME"


def annotation_set_filter(source: str) -> Q:
    """Which annotation sets an export source selects."""
    if source == "gold":
        return Q(status=AnnotationSetStatus.GOLD)
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
        for aset in (
            AnnotationSet.objects.filter(chosen, note__in=notes)
            .select_related("note")
            .order_by("note_id", "-updated_at", "-pk")
        ):
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
    """Write the project's notes to `out` (a directory, or a .zip); returns the number of notes written."""
    annotation_set_filter(source)  # fail before creating any file

    def counted() -> Iterator[Document]:
        for n, doc in enumerate(project_documents(project=project, source=source, only_annotated=only_annotated), 1):
            yield doc
            if progress and n % 500 == 0:
                progress(n)

    written = registry.write_corpus(counted(), Path(out), fmt, schema=project_schema_get(project=project))
    logger.info("corpus export of %s: %d notes as %s", project.slug, written, fmt)
    return written
