"""Structured logs: one JSON object per line, with the request id of the request served.

``ehcert serve`` hands :func:`uvicorn_log_config` to uvicorn, so its own loggers
(``uvicorn.error`` for start-up and failures, ``uvicorn.access`` for the one line per
request) and the platform's (``ehcert``) all write through :class:`JsonLogFormatter`
to stderr. An access line carries ``client``, ``method``, ``path``, ``status``, the
matched ``route`` template and ``duration_ms`` (until the response started); every line
written while a request is served carries its ``request_id`` (``api.observability``).
Query strings keep their parameter names only (``/v1/etk?id=*&id=*``): their values are
holders' identifiers (a national register number is personal data) or, from a careless
client, anything at all.

What never reaches a log: request and response bodies (no logger here sees one), hence
no CSR, JWS, PIN, password, private key, ETK or message; the platform never receives a
PIN, password or private key in the first place (DESIGN.md). Problem details are not
logged either, since they may quote a field the client sent; the refusal's type is in
the metrics (``ehcert_refusals_total``). ``tests/e2e/test_log_secrets.py`` drives a
whole flow with marker secrets and searches the log for them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from ehcert.api.observability import current_request

_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonLogFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...}`` on one line (JSON escapes newlines)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        context = current_request.get()
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            entry["message"] = "request"
            entry.update(zip(_ACCESS_FIELDS, args, strict=True))
            entry["path"] = without_query_values(str(entry["path"]))
            if context is not None:
                entry["route"] = context.route
                entry["duration_ms"] = context.elapsed_ms()
        else:
            entry["message"] = record.getMessage()
        if context is not None:
            entry["request_id"] = context.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def without_query_values(path: str) -> str:
    """``path`` with every query parameter's value replaced by ``*``."""
    base, separator, query = path.partition("?")
    if not separator:
        return base
    names = (part.partition("=")[0] for part in query.split("&") if part)
    return base + "?" + "&".join(f"{name}=*" for name in names)


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: every logger as JSON lines on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logger = {"handlers": ["json"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "ehcert.api.logs.JsonLogFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": logger,
            "uvicorn.error": logger,
            "uvicorn.access": logger,
            "ehcert": logger,
        },
    }
