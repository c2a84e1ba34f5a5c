"""What the loopback listeners of the metrics tests record."""
from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Received:
    """What one listener got: raw TCP payloads, or HTTP requests (path, headers, body)."""

    url: str = ""
    payloads: list[bytes] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 202

    def wait_for_payloads(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The TCP payloads, once `count` connections have been read to their end."""
        deadline = time.monotonic() + timeout
        while len(self.payloads) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.payloads
