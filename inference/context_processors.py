"""The choices inference's templates compare with (see annotations.context_processors)."""

from __future__ import annotations

from inference.models import GateOutcome


def choices(request) -> dict:
    return {"GateOutcome": GateOutcome}
