"""The job kinds: each kind registers, in the package that owns it, its parameters, how a request is
checked and how the job runs. The engine (engine.py), the job form, the API serializer and `start_job`
read kinds only from here, so adding a kind touches only its package's `job_kinds.py`.

A kind runs one of two ways:
- chunked (`predictor` set): the engine plans the selected notes into chunks; each chunk is predicted by
  the kind's predictor and written by its `write_chunk` in the transaction that completes the chunk;
- single (`run` set): one task runs the whole job and finishes it (`engine.job_finish`) or fails it.

Discovery: the first lookup imports `inference.<package>.job_kinds` for every sub-package that has one, and
`<app>.job_kinds` for every other installed app that has one.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from annotations.errors import ApplicationError

# Where a job can be started: the job form ("web"), the API ("api"), `start_job` ("cli"), or by uploading a
# file from the form or the API ("upload": imports).
DOORS = frozenset({"web", "api", "cli"})


class NoteError(ValueError):
    """An error about one note whose message is safe to show and store (it never quotes the note)."""


@dataclass(frozen=True)
class Param:
    """One parameter of a job kind, the same for every door that offers it (`doors`).

    type: "str" | "int" | "bool" | "choice" | "dict" (a flat mapping of short strings).
    choices: the values of a "choice" (or a function giving them, read when asked).
    """

    name: str
    type: str = "str"
    help: str = ""
    choices: Sequence[str] | Callable[[], Sequence[str]] = ()
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    doors: frozenset[str] = DOORS
    keys: tuple[str, ...] = ()  # the names a "dict" may hold
    code: str = "bad_parameters"  # the error code when a value is refused
    invalid: str = ""  # the message then ({value}, {choices}); default: the parameter's name and the rule
    label: str = ""  # the job form's label (default: from the name)
    form_initial: Any = None  # what the job form shows before anyone chooses (e.g. a box ticked)

    def choice_values(self) -> tuple[str, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def clean(self, value: Any) -> Any:
        """The value checked and converted; ApplicationError `bad_parameters` says what is wrong."""

        def bad(reason: str) -> ApplicationError:
            if self.invalid:
                message = self.invalid.format(value=str(value)[:40], choices=", ".join(self.choice_values()))
            else:
                message = f"{self.name}: {reason}."
            return ApplicationError(self.code, message)

        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise bad("true or false")
        if self.type == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise bad("a whole number") from None
            if isinstance(value, bool) or (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum
            ):
                raise bad(f"between {self.minimum} and {self.maximum}")
            return number
        if self.type == "dict":
            if not isinstance(value, dict):
                raise bad(f"a mapping of {', '.join(self.keys)} to values")
            unknown = [str(k)[:40] for k in value if k not in self.keys]
            if unknown:
                raise bad(f"no {', '.join(unknown)} (only {', '.join(self.keys)})")
            out = {}
            for key, item in value.items():
                if not isinstance(item, str | int) or isinstance(item, bool) or len(str(item)) > self.max_length:
                    raise bad(f"{key} must be a short value")
                out[key] = str(item)
            return out
        if not isinstance(value, str) or len(value) > self.max_length or "\x00" in value:
            raise bad(f"text of at most {self.max_length} characters")
        if self.type == "choice" and value not in self.choice_values():
            raise bad(f"one of {', '.join(self.choice_values())}")
        return value


@dataclass
class JobRequest:
    """What a door asks for; a kind's `prepare` checks it and completes it (defaults, the model version)."""

    project: Any
    parameters: dict
    model_version: Any = None
    any_import_path: bool = False  # the command line may name any server path; web and API may not


@dataclass(frozen=True)
class JobKindSpec:
    name: str
    label: str
    params: tuple[Param, ...] = ()
    prepare: Callable[[JobRequest], JobRequest] | None = None
    # single-run kinds
    run: Callable[[Any], None] | None = None
    # chunked (model) kinds
    predictor: Callable[[Any], Any] | None = None  # job -> an object with predict(docs, batch_size=)
    before_plan: Callable[[Any], None] | None = None  # job -> None; raises when the job cannot run
    write_chunk: Callable[..., dict] | None = None  # (job=, notes=, predictions=) -> {note_id: error}
    after_finish: Callable[[Any], None] | None = None  # job -> None, after the finishing commit
    outcome: Callable[[Any], Any] | None = None  # finished job -> jobs.selectors.JobOutcome (its page says it)
    model_queue: bool = False  # runs where models run (the `gpu` queue where configured)
    uses_model_version: bool = False
    doors: frozenset[str] = DOORS  # where it can be started (import: web and API through the upload)
    audit_keys: tuple[str, ...] = ()  # parameters the start record names (never a server path)

    @property
    def chunked(self) -> bool:
        return self.predictor is not None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def clean_parameters(self, raw: dict, *, door: str | None) -> dict:
        """The parameters this kind takes through `door` (None: a service, any of them), checked; unknown
        ones are refused."""
        if not isinstance(raw, dict):
            raise ApplicationError("bad_parameters", "parameters must be a mapping.")
        known = {p.name: p for p in self.params if door is None or door in p.doors}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ApplicationError(
                "bad_parameters",
                f"{self.name} jobs take no {', '.join(str(u)[:40] for u in unknown[:5])} "
                f"(they take: {', '.join(known) or 'nothing'}).",
            )
        out = {}
        for name, param in known.items():
            value = raw.get(name)
            if value is None or value == "":
                if param.default is not None:
                    out[name] = param.default
                continue
            out[name] = param.clean(value)
        return out


_KINDS: dict[str, JobKindSpec] = {}
_discovered = False


def register(spec: JobKindSpec) -> JobKindSpec:
    if spec.chunked == (spec.run is not None):
        raise ValueError(f"job kind {spec.name}: give either a predictor (chunked) or run (single)")
    if spec.chunked and spec.write_chunk is None:
        raise ValueError(f"job kind {spec.name}: a chunked kind needs write_chunk")
    _KINDS[spec.name] = spec
    return spec


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    import inference

    for info in pkgutil.iter_modules(inference.__path__):
        if info.ispkg and importlib.util.find_spec(f"inference.{info.name}.job_kinds") is not None:
            importlib.import_module(f"inference.{info.name}.job_kinds")
    # Other apps register their kinds the same way, in their own `job_kinds` module (pharmacovigilance: the case
    # exports), so that the engine never names them.
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name == "inference" or config.name.startswith("inference."):
            continue
        try:
            found = importlib.util.find_spec(f"{config.name}.job_kinds") is not None
        except ModuleNotFoundError:  # an app that is a module, not a package
            found = False
        if found:
            importlib.import_module(f"{config.name}.job_kinds")


def kinds(*, door: str | None = None) -> list[JobKindSpec]:
    """Every registered kind (those startable through `door`), in registration order."""
    _discover()
    return [k for k in _KINDS.values() if door is None or door in k.doors]


def kind_get(name: str) -> JobKindSpec:
    """Errors: ApplicationError `bad_kind`."""
    _discover()
    spec = _KINDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ApplicationError("bad_kind", f"Unknown job kind {str(name)[:40]!r}.")
    return spec


def job_kind_choices() -> list[tuple[str, str]]:
    """Choices of `Job.kind` (a callable, so that a new kind needs no migration)."""
    return [(k.name, k.label) for k in kinds()]


def params_for(*doors: str) -> list[Param]:
    """The union of the parameters the kinds offer through any of `doors` (one per name; choices merged),
    for a form, a serializer or a command line that serves every kind."""
    merged: dict[str, Param] = {}
    for spec in kinds():
        if not set(doors) & spec.doors:
            continue
        for p in spec.params:
            if not set(doors) & p.doors:
                continue
            if p.name in merged and p.type == "choice":
                old = merged[p.name]
                values = tuple(dict.fromkeys((*old.choice_values(), *p.choice_values())))
                merged[p.name] = replace(old, choices=values, help=old.help if old.help == p.help else
                                         f"{old.help} {p.help}".strip(), default=old.default or p.default)
            elif p.name in merged:
                old = merged[p.name]
                if old.help != p.help:
                    merged[p.name] = replace(old, help=f"{old.help} {p.help}".strip())
            else:
                merged[p.name] = p
    return list(merged.values())

