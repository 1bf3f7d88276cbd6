"""The one application error type: a stable code for programs and a message for people."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    def __init__(self, code: str, message: str, *, details: Any = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConflictError(ApplicationError):
    """Someone else changed the object since the client read it (optimistic concurrency)."""

    def __init__(self, message: str, *, current_version: int):
        super().__init__("conflict", message, details={"current_version": current_version}, status=409)
        self.current_version = current_version


class OrphanedAnnotationsError(ApplicationError):
    """A schema change refused because annotations of the project would no longer fit the schema.

    `orphans` lists them per kind and type, with counts: [{"kind": "entity", "type": "Drug", "annotations":
    1204, "notes": 87, "reason": "...", "examples": [...]}] (names, ids and numbers; never note text)."""

    def __init__(self, code: str, message: str, *, orphans: list[dict]):
        super().__init__(code, message, details={"orphans": orphans}, status=409)
        self.orphans = orphans
