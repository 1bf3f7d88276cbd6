"""Reading encoders and their adaptation: the project's notes as unlabelled text, an encoder's lineage (the
chain of `adaptation.json` files back to the encoder it all started from), the project's adapt jobs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from annotations.models import Note, Project
from inference.artifacts import (
    ArtifactError,
    artifact_exists,
    artifact_read_file,
    is_reference,
    reference_label,
)
from inference.core.adaptation.adapt import REPORT_FILE, read_adaptation
from inference.models import FINISHED_STATES, Job, JobState

ADAPT = "adapt"
LINEAGE_LIMIT = 10


def adaptation_texts(*, project: Project) -> list[str]:
    """The text of every note of the project, in the order they were added (what adaptation reads)."""
    return list(Note.objects.filter(project=project).order_by("pk").values_list("text", flat=True))


@dataclass(frozen=True)
class EncoderInfo:
    """One encoder: `path` "" is the shipped MiniLM-L6; an adapted one knows its base and its figures."""

    path: str
    name: str
    adapted: bool = False
    base: str = ""
    created_at: str = ""
    metrics: dict = field(default_factory=dict)
    exists: bool = True


def _is_default(path: str) -> bool:
    from inference.core.encoder import default_encoder_path

    if not path:
        return True
    if is_reference(path):
        return False
    try:
        return Path(path).resolve() == default_encoder_path().resolve()
    except (ModuleNotFoundError, OSError):
        return False


def encoder_info(path: str) -> EncoderInfo:
    """What is known of the encoder at `path` ("" or the shipped directory: the shipped MiniLM-L6)."""
    if _is_default(path):
        return EncoderInfo(path="", name="MiniLM-L6 (shipped)")
    if is_reference(path):  # published: its adaptation.json from this worker's cache or the store
        exists = artifact_exists(path)
        try:
            raw = artifact_read_file(path, REPORT_FILE) if exists else None
            report = json.loads(raw) if raw is not None else None
        except (ArtifactError, ValueError):
            report = None
        name = str((report or {}).get("name") or reference_label(path))
    else:
        report = read_adaptation(path)
        exists = (Path(path) / "config.json").is_file()
        name = Path(path).name
    if not isinstance(report, dict):
        return EncoderInfo(path=path, name=name, exists=exists)
    base = report.get("base_encoder") or ""
    return EncoderInfo(
        path=path, name=name, adapted=True, base="" if _is_default(base) else base,
        created_at=report.get("created_at", ""), metrics=report.get("metrics") or {}, exists=exists,
    )


def encoder_lineage(*, path: str) -> list[EncoderInfo]:
    """The encoder at `path`, then the one it was adapted from, and so on to one that was not adapted."""
    chain, seen = [], set()
    while len(chain) < LINEAGE_LIMIT:
        info = encoder_info(path)
        chain.append(info)
        if not info.adapted or info.path in seen:
            break
        seen.add(info.path)
        path = info.base
    return chain


def adaptation_job_list(*, project: Project, limit: int = 10):
    """The project's adapt jobs, newest first."""
    return Job.objects.filter(project=project, kind=ADAPT).order_by("-created_at", "-pk")[:limit]


def adaptation_in_progress(*, project: Project) -> Job | None:
    return Job.objects.filter(project=project, kind=ADAPT).exclude(state__in=FINISHED_STATES).first()


def adaptation_job_get(*, project: Project, job_id: int) -> Job:
    """A finished, successful adapt job of the project whose encoder is still on disk.

    Errors: Job.DoesNotExist (none such in this project), ValueError (not finished or its encoder is gone).
    """
    job = Job.objects.get(project=project, kind=ADAPT, pk=job_id)
    present = job.result_path and (artifact_exists(job.result_path) if is_reference(job.result_path)
                                   else (Path(job.result_path) / "config.json").is_file())
    if job.state != JobState.SUCCEEDED or not present:
        raise ValueError("this adaptation did not finish, or its encoder is no longer on disk")
    return job


@dataclass(frozen=True)
class EncoderState:
    """What the models page and the API show: the project's encoder with its lineage, the adaptations and
    the one running, and whether a rollback is possible (the encoder was adapted from another)."""

    current: EncoderInfo
    lineage: tuple[EncoderInfo, ...]
    adaptations: tuple = ()
    running: Job | None = None

    @property
    def can_roll_back(self) -> bool:
        return self.current.adapted


def project_encoder_state(*, project: Project) -> EncoderState:
    lineage = encoder_lineage(path=project.encoder_path or "")
    jobs = list(adaptation_job_list(project=project))
    running = next((j for j in jobs if j.state not in FINISHED_STATES), None)
    return EncoderState(current=lineage[0], lineage=tuple(lineage), adaptations=tuple(jobs), running=running)
