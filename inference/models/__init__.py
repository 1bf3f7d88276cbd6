"""The inference app's tables, one module per sub-system, re-exported here so that Django, the migrations
and `from inference.models import ...` see one app: jobs (the engine), versions (serving and learning),
learning (retrain policy, note scores) and risk (the TD(lambda) monitor)."""

from inference.models.jobs import FINISHED_STATES, Job, JobChunk, JobError, JobState
from inference.models.learning import NoteScore, RetrainPolicy, StartFrom
from inference.models.risk import PatientRisk, RiskModel, RiskPoint
from inference.models.versions import GateOutcome, ModelVersion

__all__ = [
    "FINISHED_STATES",
    "GateOutcome",
    "Job",
    "JobChunk",
    "JobError",
    "JobState",
    "ModelVersion",
    "NoteScore",
    "PatientRisk",
    "RetrainPolicy",
    "RiskModel",
    "RiskPoint",
    "StartFrom",
]
