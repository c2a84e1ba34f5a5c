"""Structured logging: JSON lines in Lambda, readable lines on a terminal, secrets never."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

#: Keys whose values are never written, whoever logs them (matched ignoring case, "_" and "-",
#: so boto's ExternalId and SessionToken match as well as external_id and session_token).
SECRET_KEYS = ("secret", "token", "password", "webhook", "external_id", "credentials", "authorization",
               "api_key")
_SECRET_WORDS = tuple(w.replace("_", "") for w in SECRET_KEYS)


def is_secret_key(key: str) -> bool:
    """Whether a key's value must never be logged."""
    plain = key.lower().replace("_", "").replace("-", "")
    return any(word in plain for word in _SECRET_WORDS)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the values of secret-looking keys, in nested mappings and lists too."""
    for key in list(event):
        event[key] = "[redacted]" if is_secret_key(str(key)) else _redacted(event[key])
    return event


def _redacted(value: Any) -> Any:
    # A logged event or config (e.g. event=payload) must not carry its secrets past the top level.
    if isinstance(value, Mapping):
        return {k: "[redacted]" if is_secret_key(str(k)) else _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def configure(*, json_output: bool | None = None, level: str = "info", stream: Any = None) -> None:
    """Set up structlog once per process (per cold start in Lambda)."""
    if json_output is None:
        json_output = "AWS_LAMBDA_FUNCTION_NAME" in os.environ or not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    # botocore and moto's server talk a lot at INFO; their warnings still show.
    for name in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(**context: Any) -> Any:
    """A logger bound to the given context (account, region, plugin, run)."""
    return structlog.get_logger("aws_collector").bind(**context)
