"""What a scan saw, in a few bytes a finding: how an attempt's record names the findings it saw, so
that a run in which nothing changed writes one record per account instead of one item per finding.

A sighting is 12 bytes: 8 of the resource id (which finding, within its place) and 4 of its content
(severity, summary, details, and tags when a finding has them). A place's sightings are kept sorted
by those bytes in one blob, so reading whether an attempt saw a finding is a binary search, and an
account's attempts cost 12 bytes a finding in memory, never a Python object each.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from collector_core.collector import Finding
from collector_core.findings import Place

KEY_BYTES, CONTENT_BYTES = 8, 4
SIGHTING_BYTES = KEY_BYTES + CONTENT_BYTES


def key_digest(resource_id: str) -> bytes:
    """Which finding of its place: 8 bytes of the resource id (a collision in one place of one account
    among 100,000 findings is about one in 3.7 billion)."""
    return hashlib.blake2b(resource_id.encode(), digest_size=KEY_BYTES).digest()


def content_digest(finding: Finding) -> bytes:
    """What a finding says: 4 bytes of its severity, summary, details and tags (if it has any)."""
    content: dict[str, Any] = {"severity": finding.severity, "summary": finding.summary, "details": finding.details}
    if finding.tags:  # untagged findings hash as they did before tags existed
        content["tags"] = finding.tags
    encoded = json.dumps(_canonical(content), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(encoded.encode(), digest_size=CONTENT_BYTES).digest()


def _canonical(value: Any) -> Any:
    """Numbers as the table gives them back (8.0 reads as 8), so stored content hashes as it was seen."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def sighting(finding: Finding) -> bytes:
    """The 12 bytes naming a finding as seen: its key's digest, then its content's."""
    return key_digest(finding.resource_id) + content_digest(finding)


def blob(sightings: Iterable[bytes]) -> bytes:
    """A place's sightings as stored: sorted, without repeats, end to end."""
    return b"".join(sorted(set(sightings)))


def split(blobs: Mapping[Place, bytes], limit: int) -> Iterator[dict[Place, bytes]]:
    """Blobs in parts of at most ``limit`` bytes of sightings each, in order (a place's blob may be cut
    between two parts; put back together in order, it is sorted again)."""
    limit -= limit % SIGHTING_BYTES
    part: dict[Place, bytes] = {}
    room = limit
    for place, data in sorted(blobs.items()):
        while data:
            taken, data = data[:room], data[room:]
            part[place] = part.get(place, b"") + taken
            room -= len(taken)
            if room == 0:
                yield part
                part, room = {}, limit
    if part:
        yield part


class Seen:
    """The sightings of one attempt, by place, read back: which findings it saw."""

    __slots__ = ("_blobs",)

    def __init__(self, blobs: Mapping[Place, bytes] | None = None) -> None:
        self._blobs = dict(blobs or {})

    def add(self, place: Place, data: bytes) -> None:
        """Another part of a place's blob (parts arrive in order)."""
        self._blobs[place] = self._blobs.get(place, b"") + data

    def __bool__(self) -> bool:
        return bool(self._blobs)

    def saw(self, place: Place, resource_id: str) -> bool:
        """Whether the attempt saw this finding (in any version of its content)."""
        return self.entry(place, resource_id) is not None

    def entry(self, place: Place, resource_id: str) -> bytes | None:
        """The sighting of this finding, if the attempt saw it."""
        data = self._blobs.get(place)
        if not data:
            return None
        wanted = key_digest(resource_id)
        low, high = 0, len(data) // SIGHTING_BYTES
        while low < high:  # entries are sorted, so by their key digest first
            middle = (low + high) // 2
            start = middle * SIGHTING_BYTES
            found = data[start : start + KEY_BYTES]
            if found < wanted:
                low = middle + 1
            elif found > wanted:
                high = middle
            else:
                return data[start : start + SIGHTING_BYTES]
        return None

    def count(self) -> int:
        """Sightings held."""
        return sum(len(b) for b in self._blobs.values()) // SIGHTING_BYTES
