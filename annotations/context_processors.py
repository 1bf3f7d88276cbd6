"""The choices templates compare with, so that a page says `note.review_status == ReviewStatus.SIGNED_OFF`
instead of repeating the stored string (Django's Choices are not called in templates)."""

from __future__ import annotations

from annotations.models import NoteLabelValue, Origin, ReviewStatus, SignOffOutcome


def choices(request) -> dict:
    return {"ReviewStatus": ReviewStatus, "Origin": Origin, "SignOffOutcome": SignOffOutcome,
            "NoteLabelValue": NoteLabelValue}
