"""A clock and a sleep for tests of code that paces or retries: sleeping records the wait and moves
the clock on, so a test sees every wait without waiting."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class FakeTime:
    """Wall-clock seconds since the epoch that move only when something sleeps."""

    now: float = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC).timestamp()
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
