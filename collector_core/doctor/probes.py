"""Which one cheap call proves that a member role holds a declared permission, and what its answer means.

A permission ``service:Action`` is proven by calling the API operation of the same name (IAM
names actions after operations) when it takes no required parameter: a List or Describe call,
asked for its smallest page. The service is botocore's of the same name, else the one whose
signing name is the IAM prefix (``elasticloadbalancing`` is elbv2's and elb's, ``monitoring`` is
cloudwatch's). An access-denied answer names the permission; any other answer came from past
IAM's check and proves it, except a validation error (the call needed something after all),
which proves nothing either way. A permission whose operation needs parameters is not called:
the member role's drift check (its deployed policy against ``iam-policy``) covers it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, DataNotFoundError

from collector_core.errors import error_of

#: Error codes with which AWS refuses a caller that lacks a permission.
DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError",
    "AuthorizationErrorException", "Forbidden", "ForbiddenException", "NotAuthorized", "NotAuthorizedException",
    "UnrecognizedClientException", "InvalidClientTokenId",
})
#: Error codes of a request the service would not take as sent: they prove nothing about permissions.
INCONCLUSIVE = frozenset({
    "ValidationError", "ValidationException", "InvalidParameter", "InvalidParameterValue",
    "InvalidParameterCombination", "InvalidParameterException", "MissingParameter", "InvalidInput",
    "InvalidRequest", "InvalidRequestException", "OperationNotPermitted",
})
#: IAM prefixes whose botocore services have other names (the rest are found by signing name, slowly).
ALIASES = {"elasticloadbalancing": ("elbv2", "elb"), "monitoring": ("cloudwatch",), "states": ("stepfunctions",),
           "tagging": ("resourcegroupstaggingapi",), "access-analyzer": ("accessanalyzer",),
           "elasticfilesystem": ("efs",), "elasticmapreduce": ("emr",), "es": ("opensearch", "es")}


#: The page a listing probe asks for.
PAGE_SIZE = 5


@dataclass(frozen=True)
class Probe:
    """One call that proves one permission: ``client(service).<method>(**params)``."""

    action: str
    service: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a probe's answer says: ``proven``, ``denied`` or ``inconclusive``, and the answer."""

    verdict: str
    detail: str = ""


def probe_for(action: str) -> Probe | None:
    """The call that proves ``action``, or None when no call without parameters can."""
    prefix, _, operation = action.partition(":")
    for service in _services(prefix.lower()):
        found = _probe(action, service, operation)
        if found is not None:
            return found
    return None


def run_probe(probe: Probe, client: Any) -> Outcome:
    """Make the probe's call with a client of the account and region it is about."""
    try:
        getattr(client, probe.method)(**probe.params)
    except ClientError as exc:
        code, message = error_of(exc)
        if code in DENIED:
            return Outcome("denied", f"{code}: {message}")
        if code in INCONCLUSIVE:
            return Outcome("inconclusive", f"{code}: {message}")
        return Outcome("proven", code)  # IAM let it through to the service, which had something to say
    except BotoCoreError as exc:  # the endpoint could not be reached: nothing was proven
        return Outcome("inconclusive", f"{type(exc).__name__}: {exc}")
    return Outcome("proven")


@functools.cache
def _probe(action: str, service: str, operation: str) -> Probe | None:
    model = _session().get_service_model(service)
    if operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    if shape is not None and shape.required_members:
        return None
    return Probe(action, service, xform_name(operation), _smallest_page(service, operation, model, shape))


def _smallest_page(service: str, operation: str, model: Any, shape: Any) -> dict[str, Any]:
    """A small page for a call that lists things: PAGE_SIZE, within the limits the model states (some
    services refuse smaller pages than their model says, as EC2 does below 5)."""
    try:
        config = _session().get_paginator_model(service, model.api_version).get_paginator(operation)
    except (DataNotFoundError, ValueError):
        return {}
    limit = config.get("limit_key")
    if not limit or shape is None or limit not in shape.members:
        return {}
    bounds = shape.members[limit].metadata
    return {limit: max(int(bounds.get("min", 1)), min(PAGE_SIZE, int(bounds.get("max", PAGE_SIZE))))}


def _services(prefix: str) -> list[str]:
    available = set(_session().get_available_services())
    direct = [s for s in (prefix, *ALIASES.get(prefix, ())) if s in available]
    return direct or sorted(_by_signing_name().get(prefix, []))


@functools.lru_cache(maxsize=1)
def _by_signing_name() -> dict[str, list[str]]:
    """botocore services by signing name (reads every service model: seconds, once, only when needed)."""
    loader = _session().get_component("data_loader")
    found: dict[str, list[str]] = {}
    for name in _session().get_available_services():
        metadata = loader.load_service_model(name, "service-2")["metadata"]
        found.setdefault(metadata.get("signingName") or metadata["endpointPrefix"], []).append(name)
    return found


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()
