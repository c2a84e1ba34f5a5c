"""Values in and out of DynamoDB's attribute format: plain Python on our side (whole numbers as int,
floats kept, bytes as bytes), boto3's types on the table's."""
from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def attrs(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB attributes (floats as Decimal, which boto3's serializer requires)."""
    return {k: value(v) for k, v in item.items()}


def value(plain_value: Any) -> dict[str, Any]:
    """One plain value as a DynamoDB attribute value."""
    serialized: dict[str, Any] = _serializer.serialize(_decimals(plain_value))  # type: ignore[assignment]
    return serialized


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes as plain values (whole numbers as int, others as float, binary as bytes)."""
    return {k: _numbers(_deserializer.deserialize(v)) for k, v in item.items()}


def size(item: Mapping[str, Any]) -> int:
    """About DynamoDB's size of an item: attribute names plus values (strings in UTF-8, bytes as they are)."""
    return sum(len(k.encode()) + _size(v) for k, v in item.items())


def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return sum(len(str(k).encode()) + _size(v) for k, v in value.items()) + 3
    return len(json.dumps(value, default=str).encode())


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v) for v in value]
    return value


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return bytes(value.value)  # type: ignore[attr-defined]  # the stubs omit it
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, set):
        return {_numbers(v) for v in value}
    return value
