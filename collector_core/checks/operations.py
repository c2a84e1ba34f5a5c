"""What botocore's service models say about a check's call: whether the service and operation
exist, which request parameters the operation accepts, and the IAM action it needs.

Everything here is offline: the models ship with botocore, so a check is validated against the
same definitions the client will use, never against a list of ours.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from collector_core.aws import botocore_patch


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    # The process's shared loader: the models read here are the ones the clients will use.
    return botocore_patch.session()


@functools.cache
def available_services() -> tuple[str, ...]:
    """The service names botocore has models for (what ``boto3.client`` accepts)."""
    return tuple(sorted(_session().get_available_services()))


@functools.cache
def service_model(service: str) -> ServiceModel | None:
    """botocore's model of a service, or None when it has none by that name."""
    if service not in available_services():
        return None
    try:
        return _session().get_service_model(service)
    except UnknownServiceError:
        return None


@functools.cache
def _operations(service: str) -> dict[str, str]:
    """snake_case name (as the client method is called) -> the model's operation name."""
    model = service_model(service)
    return {xform_name(name): name for name in model.operation_names} if model else {}


def operation_model(service: str, operation: str) -> OperationModel | None:
    """The model of ``service.operation`` (operation in boto3's snake_case), or None."""
    model = service_model(service)
    name = _operations(service).get(operation)
    return model.operation_model(name) if model and name else None


def operation_names(service: str) -> list[str]:
    """The service's operations, in snake_case."""
    return sorted(_operations(service))


def param_problems(operation: OperationModel, params: Mapping[str, Any]) -> list[str]:
    """What botocore's validator (the one every client call runs) says about these parameters."""
    shape = operation.input_shape
    if shape is None:
        return [f"{operation.name} takes no parameters, got {', '.join(sorted(params))}"] if params else []
    report = ParamValidator().validate(dict(params), shape)
    if not report.has_errors():
        return []
    return [line.strip() for line in report.generate_report().splitlines() if line.strip()]


def action_candidates(service: str, operation: OperationModel) -> list[str]:
    """The IAM action the call needs, by the prefixes IAM may file it under: the model's signing
    name first (what requests are signed as, usually IAM's prefix), then the client's service name
    and the endpoint prefix (cloudwatch signs as "monitoring" but IAM says "cloudwatch")."""
    model = operation.service_model
    prefixes = [model.signing_name, service, model.endpoint_prefix]
    return list(dict.fromkeys(f"{p}:{operation.name}" for p in prefixes if p))
