"""A measured speed-up on two private botocore builders, applied only where it is known to be safe.

botocore builds a new client class for every client (one method per operation) and a new
ServiceModel for every client (whose endpoint-discovery lookup builds every operation model). A
worker makes one client per region and service, so it rebuilt identical classes and models over
and over (the cost is in docs/performance.md). A class depends only on the service model and the
session's handlers, so the clients of one session can share both.

The two methods are private: a botocore release may rename them or change their parameters. So
the wrappers go in only when the signatures are exactly the ones this code was written against,
checked once per process; otherwise botocore runs as shipped, which is slower and nothing else,
and a debug log line says why. Sessions opt in one by one (`share`); others keep botocore's
behaviour even when the wrappers are installed.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any

import botocore.client
import structlog

#: Each wrapped private method and the parameters it must have for the wrapper to be correct.
EXPECTED_SIGNATURES: dict[str, tuple[str, ...]] = {
    "_create_client_class": ("self", "service_name", "service_model"),
    "_load_service_model": ("self", "service_name", "api_version"),
}
#: Marks a session's event emitter as opted in; holds that session's shared classes and models.
_SHARED = "_aws_collector_shared"
_lock = threading.Lock()
_installed: bool | None = None  # None: not checked yet in this process


def mismatches(creator: Any = None) -> list[str]:
    """How botocore's private builders differ from what the wrappers expect (empty: they match)."""
    creator = botocore.client.ClientCreator if creator is None else creator
    problems = []
    for name, params in EXPECTED_SIGNATURES.items():
        method = getattr(creator, name, None)
        if method is None:
            problems.append(f"ClientCreator.{name} is missing")
            continue
        try:
            found = tuple(inspect.signature(method).parameters)
        except (TypeError, ValueError):
            found = ()
        if found != params:
            problems.append(f"ClientCreator.{name}{found} is not {name}{params}")
    return problems


def install() -> bool:
    """Wrap the builders once per process; False, leaving botocore as shipped, when they differ."""
    global _installed
    with _lock:
        if _installed is None:
            problems = mismatches()
            if problems:
                structlog.get_logger("aws_collector").debug(
                    "botocore_patch_skipped", botocore=botocore.__version__, problems=problems)
                _installed = False
            else:
                _wrap(botocore.client.ClientCreator)
                _installed = True
        return _installed


def share(session: Any) -> bool:
    """Let one botocore session's clients share classes and models; create them under one lock."""
    if not install():
        return False
    setattr(session.get_component("event_emitter"), _SHARED, {})
    return True


def _wrap(creator: Any) -> None:
    build_class = creator._create_client_class
    build_model = creator._load_service_model

    def create_client_class(self: Any, service_name: str, service_model: Any) -> Any:
        shared = getattr(self._event_emitter, _SHARED, None)
        if shared is None:
            return build_class(self, service_name, service_model)
        key = ("class", service_name, service_model.api_version)
        if key not in shared:
            shared[key] = build_class(self, service_name, service_model)
        return shared[key]

    def load_service_model(self: Any, service_name: str, api_version: str | None = None) -> Any:
        shared = getattr(self._event_emitter, _SHARED, None)
        if shared is None:
            return build_model(self, service_name, api_version)
        key = ("model", service_name, api_version)
        if key not in shared:
            shared[key] = build_model(self, service_name, api_version)
        return shared[key]

    creator._create_client_class = create_client_class
    creator._load_service_model = load_service_model
