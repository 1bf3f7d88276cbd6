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
