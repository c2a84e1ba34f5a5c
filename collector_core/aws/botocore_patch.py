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

The sessions that opt in also share one data loader per process (`loader`), so a service's model is
parsed once however many sessions ask for it (validating checks, listing regions, making clients),
and that loader reads botocore's JSON files lean: plain dicts rather than OrderedDicts (a dict keeps
its order; an OrderedDict costs about half as much again), and a service model without the
documentation strings of its shapes, members and operations, which only docstrings and generated
docs read (a third of the model's memory; EC2's model is 15 MB as shipped, 7 MB lean). It relies on
two more internals, checked the same way (`loader_mismatches`): the file extensions botocore reads
its data under, and the Loader's public `file_loader`; when they differ, the shared loader reads
files as shipped.
"""
from __future__ import annotations

import gzip
import inspect
import json
import os
import threading
from typing import Any

import botocore.client
import botocore.loaders
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
#: How botocore names its data files (botocore.loaders._JSON_OPEN_METHODS): the lean reader knows these.
JSON_EXTENSIONS = (".json", ".json.gz")
#: The process's shared loaders, by AWS_DATA_PATH (None: botocore's own search paths).
_loaders: dict[str | None, botocore.loaders.Loader] = {}


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
    """Let one botocore session's clients share classes and models; create them under one lock.
    The session reads its data through the process's shared loader either way."""
    use_shared_loader(session)
    if not install():
        return False
    setattr(session.get_component("event_emitter"), _SHARED, {})
    return True


def use_shared_loader(session: Any) -> Any:
    """Point a botocore session (before it loads anything) at the process's shared loader."""
    session.register_component("data_loader", loader(session.get_config_variable("data_path")))
    return session


def session() -> Any:
    """A botocore session reading through the shared loader: for models without a client."""
    import botocore.session

    return use_shared_loader(botocore.session.get_session())


def loader_mismatches(loaders: Any = None) -> list[str]:
    """How botocore's loaders module differs from what the lean file loader expects (empty: it matches)."""
    loaders = botocore.loaders if loaders is None else loaders
    problems = []
    extensions = getattr(loaders, "_JSON_OPEN_METHODS", None)
    if not isinstance(extensions, dict) or not set(extensions) <= set(JSON_EXTENSIONS):
        problems.append(f"botocore reads data files as {sorted(extensions or ())}, not {list(JSON_EXTENSIONS)}")
    file_loader = getattr(getattr(loaders, "JSONFileLoader", None), "load_file", None)
    try:
        found = tuple(inspect.signature(file_loader).parameters) if file_loader else ()
    except (TypeError, ValueError):
        found = ()
    if found != ("self", "file_path"):
        problems.append(f"JSONFileLoader.load_file{found} is not load_file('self', 'file_path')")
    try:
        if not isinstance(loaders.create_loader().file_loader, loaders.JSONFileLoader):
            problems.append("Loader.file_loader is not a JSONFileLoader")
    except AttributeError as exc:
        problems.append(f"Loader has no file_loader ({exc})")
    return problems


def loader(search_path: str | None = None) -> botocore.loaders.Loader:
    """The process's loader for this AWS_DATA_PATH: one parsed model per service, lean when it can be."""
    with _lock:
        found = _loaders.get(search_path)
        if found is None:
            found = _loaders[search_path] = botocore.loaders.create_loader(search_path)
            problems = loader_mismatches()
            if problems:
                structlog.get_logger("aws_collector").debug(
                    "botocore_lean_loader_skipped", botocore=botocore.__version__, problems=problems)
            else:
                found.file_loader = LeanFileLoader()
        return found


class LeanFileLoader(botocore.loaders.JSONFileLoader):
    """botocore's data files as plain dicts, service models without their documentation."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in JSON_EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for ext in JSON_EXTENSIONS:
            full_path = file_path + ext
            if not os.path.isfile(full_path):
                continue
            with (gzip.open if ext.endswith(".gz") else open)(full_path, "rb") as fp:
                data = json.loads(fp.read().decode("utf-8"))
            if os.path.basename(file_path) == "service-2" and isinstance(data, dict):
                drop_documentation(data)
            return data
        return None


#: What a service model documents, and nothing at run time reads: docstrings and docs are built
#: from these. (clientContextParams' documentation stays: botocore reads that key.)
_DOCUMENTATION = ("documentation", "documentationUrl")


def drop_documentation(model: dict[str, Any]) -> dict[str, Any]:
    """A service model (service-2) without the documentation of the service, its operations, shapes
    and members; only those places, so a member that happens to be called documentation stays."""
    for key in _DOCUMENTATION:
        model.pop(key, None)
    for operation in (model.get("operations") or {}).values():
        for key in _DOCUMENTATION:
            operation.pop(key, None)
        _undocument([operation.get("input"), operation.get("output"), *(operation.get("errors") or ())])
    for shape in (model.get("shapes") or {}).values():
        shape.pop("documentation", None)
        # A reference with nothing but its shape is resolved without copying the shape (botocore's
        # fast path); one that also documents itself copied the shape on every resolution.
        _undocument((shape.get("members") or {}).values())
        _undocument([shape.get("member"), shape.get("key"), shape.get("value")])
    return model


def _undocument(references: Any) -> None:
    for reference in references:
        if isinstance(reference, dict):
            reference.pop("documentation", None)


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
