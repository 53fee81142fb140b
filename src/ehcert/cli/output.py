"""How every ``ehcert`` command ends: exit codes, the one error sentence, JSON output.

The contract scripts rely on:

- exit 0: done; exit 1: refused or failed; exit 2: usage error (Typer/Click's own code);
- on exit 1, stderr holds exactly one sentence naming the cause (the
  :class:`~ehcert.core.errors.EhcertError` ``detail``, often the platform's own words),
  never a traceback;
- with ``--json``, stdout holds exactly one JSON object: the result, or on failure
  ``{"error": {"kind": ..., "detail": ..., "field": ...}}``. Progress and human text go
  to stderr so stdout stays parseable.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from ehcert.core.errors import EhcertError, ErrorKind

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")

# Human output; ``stderr_console`` carries progress and notes so ``--json`` stdout stays clean.
stdout_console = Console(highlight=False, soft_wrap=True)
stderr_console = Console(stderr=True, highlight=False, soft_wrap=True)


def one_line(text: str) -> str:
    """Collapse whitespace so a sentence is one line whatever its source put in it."""
    return " ".join(text.split())


def to_jsonable(value: object) -> Any:
    """Dataclasses, enums, paths and datetimes (ISO 8601) as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def emit_json(obj: object) -> None:
    """Print one JSON object on stdout (sorted keys, so output is stable to diff)."""
    typer.echo(json.dumps(to_jsonable(obj), sort_keys=True, ensure_ascii=False))


def fail(error: EhcertError, *, json_output: bool = False) -> NoReturn:
    """Report ``error`` as one sentence on stderr (and as JSON on stdout) and exit 1."""
    sentence = one_line(error.detail) or f"The operation failed ({error.kind.value})."
    if json_output:
        emit_json({"error": {"kind": error.kind.value, "detail": sentence, "field": error.field}})
    typer.echo(sentence, err=True)
    raise typer.Exit(EXIT_FAILED)


def _as_error(exc: BaseException) -> EhcertError | None:
    """The failures a command can meet besides refusals, said as one sentence."""
    if isinstance(exc, EhcertError):
        return exc
    if isinstance(exc, PermissionError):
        where = f" {exc.filename}" if exc.filename else ""
        return EhcertError(ErrorKind.FORBIDDEN, f"Permission denied on{where}.")
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        where = f" ({exc.filename})" if exc.filename else ""
        return EhcertError(ErrorKind.INTERNAL, f"A file operation failed: {reason}{where}.")
    return None


@contextmanager
def reported_errors(*, json_output: bool = False) -> Iterator[None]:
    """Within this block an :class:`EhcertError` or ``OSError`` becomes exit 1 via :func:`fail`.

    Programming errors (anything else) are left alone: they are bugs and deserve their
    traceback.
    """
    try:
        yield
    except (EhcertError, OSError) as exc:
        error = _as_error(exc)
        assert error is not None
        fail(error, json_output=json_output)


def exits_on_error(command: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`reported_errors` for commands whose ``json_output`` kwarg
    (when present) selects JSON failure output."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reported_errors(json_output=bool(kwargs.get("json_output", False))):
            return command(*args, **kwargs)

    return wrapper
