"""Why a model flagged a note, as stored on the note (`Note.ade_evidence`): offsets into its text, never
the text (framework-free). Made by inference.core.extraction.evidence; read by the queue and the note page."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Evidence:
    """`source`: "relation" (start/end cover both arguments; arg spans given) or "sentence" (the sentence
    with the highest ADE score). `score`: the relation's confidence or the sentence's ADE probability."""

    source: str
    start: int
    end: int
    score: float | None
    arg1: tuple[int, int] | None = None
    arg2: tuple[int, int] | None = None

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> Evidence | None:
        """The stored form back; None for an empty or malformed one."""
        try:
            return cls(
                source=str(d["source"]), start=int(d["start"]), end=int(d["end"]),
                score=float(d["score"]) if d.get("score") is not None else None,
                arg1=tuple(d["arg1"]) if d.get("arg1") else None, arg2=tuple(d["arg2"]) if d.get("arg2") else None,
            )
        except (KeyError, TypeError, ValueError):
            return None
