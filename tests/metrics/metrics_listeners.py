"""What the loopback TCP listener of the metrics tests records (a Wavefront proxy's port 2878), and
`emit` with settings in the config's shape."""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector_core.metrics import sinks
from collector_core.metrics.sinks import MetricsSettings
from collector_core.results import AccountResult


def emit(results: Iterable[AccountResult], settings: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """metrics.sinks.emit with settings written as the config's ``metrics:`` section."""
    return sinks.emit(results, MetricsSettings.from_doc(settings), **kwargs)


@dataclass
class Received:
    """The raw payload of every connection, each read to its end."""

    url: str = ""
    payloads: list[bytes] = field(default_factory=list)

    def wait_for_payloads(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The TCP payloads, once `count` connections have been read to their end."""
        deadline = time.monotonic() + timeout
        while len(self.payloads) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.payloads
