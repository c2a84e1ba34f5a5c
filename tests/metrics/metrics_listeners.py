"""What the loopback TCP listener of the metrics tests records (a Wavefront proxy's port 2878)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field


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
