"""How IAM files an action: its access level (List, Read, Write, ...) from parliament's copy of the
Service Authorization Reference. What `iam-policy` refuses from a plugin and what a declarative
check may call are decided here, from one source.
"""
from __future__ import annotations

import fnmatch
import functools
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class PolicyError(Exception):
    """Declared permissions the read-only member role may not hold (or IAM's data missing); the
    message names each."""


#: The access levels the member role may hold.
READ_ONLY = ("List", "Read")
#: Reads that return data or secrets, not how an account is configured: object contents, secret and
#: parameter values, table items, plaintext keys. A misconfiguration collector has no business with
#: them, and a role in every account that can read them is a role worth stealing. AWS files most
#: under Read (secretsmanager:BatchGetSecretValue under List; kms:Decrypt under Write already).
DATA_READS = (
    "s3:GetObject*",  # object contents and versions; also the object's ACL and tags: allow those per plugin
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory",
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect",
    "kms:Decrypt",
)
DATA_READ, WILDCARD, UNKNOWN = "data or secret read", "wildcard", "unknown action"


def access_level(action: str) -> str:
    """How an action is filed: IAM's level (List, Read, Write, Permissions management, Tagging), or
    DATA_READ, WILDCARD or UNKNOWN. Only READ_ONLY levels go into the member role by default."""
    if "*" in action or "?" in action:
        return WILDCARD
    if any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in DATA_READS):
        return DATA_READ
    return _levels().get(action.lower(), UNKNOWN)


@functools.lru_cache(maxsize=1)
def _levels() -> dict[str, str]:
    """service:action (lower case) -> access level, from parliament's iam_definition.json.

    The file is read, not the package imported: parliament's __init__ needs pkg_resources, which
    setuptools 81 no longer ships, and only this module (never the worker) needs the data.
    """
    spec = importlib.util.find_spec("parliament")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise PolicyError("classifying IAM actions needs parliament's IAM data: pip install parliament")
    path = Path(next(iter(spec.submodule_search_locations))) / "iam_definition.json"
    # One service at a time: the whole file parsed at once (10 MB of JSON, every resource and
    # condition key) peaks at over 30 MB for the 3 MB kept, in every process that loads checks.
    return {f"{service['prefix']}:{privilege['privilege']}".lower(): privilege["access_level"]
            for service in _elements(path.read_text(encoding="utf-8")) for privilege in service["privileges"]}


_SPACE = re.compile(r"\s*")


def _skip_space(text: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not white space."""
    match = _SPACE.match(text, index)  # \s* matches anywhere, so always a match
    return match.end() if match else index


def _elements(text: str) -> Iterator[Any]:
    """The elements of a JSON array, each parsed on its own (ValueError when it is not one)."""
    decoder = json.JSONDecoder()
    index = _skip_space(text, 0)
    if text[index:index + 1] != "[":
        raise ValueError("expected a JSON array")
    index = _skip_space(text, index + 1)
    if text[index:index + 1] == "]":
        return
    while True:
        element, index = decoder.raw_decode(text, index)
        yield element
        index = _skip_space(text, index)
        if text[index:index + 1] == "]":
            return
        if text[index:index + 1] != ",":
            raise ValueError(f"expected , or ] at {index}")
        index = _skip_space(text, index + 1)
