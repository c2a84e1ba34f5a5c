"""The pieces every config section's schema is written in: the core's, and those of the features
that own a section (notify, metrics), which ``config.schema`` assembles into one document. It sits
below them all, so a feature imports it, not the config. Each node's ``expected`` text (ignored
by the validator) is what an error message quotes; a node marked ``secret`` never shows its value."""
from __future__ import annotations

from typing import Any

from collector_core.aws.clients import known_regions

Schema = dict[str, Any]

ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
NON_EMPTY: Schema = {"type": "string", "minLength": 1, "expected": "a non-empty string"}
BOOLEAN: Schema = {"type": "boolean", "expected": "true or false"}
ENV_NAME: Schema = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                    "expected": "an environment variable name"}
ACCOUNT_ID: Schema = {"type": "string", "pattern": ACCOUNT_ID_PATTERN,
                      "expected": "a 12-digit account id in quotes"}
HTTP_URL: Schema = {"type": "string", "pattern": r"^https?://\S+$", "expected": "an http(s) URL"}
S3_BUCKET: Schema = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                     "expected": "an S3 bucket name"}


def region() -> Schema:
    """One region name this botocore knows."""
    return {"type": "string", "enum": list(known_regions()), "expected": "an AWS region name such as eu-west-1"}


def regions() -> Schema:
    """``all`` or a list of region names."""
    return {
        "oneOf": [
            {"const": "all"},
            {"type": "array", "items": region(), "minItems": 1, "uniqueItems": True},
        ],
        "expected": '"all" or a list of region names',
    }


def mapping(properties: Schema, expected: str, **extra: Any) -> Schema:
    """A mapping with exactly these keys (unknown keys are errors)."""
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "expected": expected, **extra}
