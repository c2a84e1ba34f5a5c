"""Reading many partitions in order, a few at a time ahead of the reader, on daemon threads."""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any


class ReadAhead:
    """``read`` over items, in order, on daemon threads at most ``ahead`` items ahead of the
    consumer. Daemon threads: a command given up on (cli.deadline) must not wait for a read that
    never ends, nor be held at exit (a ThreadPoolExecutor's threads are joined at exit)."""

    def __init__(self, read: Any, items: Sequence[str], ahead: int) -> None:
        self._read, self._items, self._ahead = read, list(items), ahead
        self._done: dict[int, tuple[bool, Any]] = {}
        self._cond = threading.Condition()
        self._taken = self._consumed = 0
        self._stopped = False
        for i in range(min(ahead, len(self._items))):
            threading.Thread(target=self._work, daemon=True, name=f"read-{i}").start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and self._taken < len(self._items) \
                        and self._taken >= self._consumed + self._ahead:
                    self._cond.wait()
                if self._stopped or self._taken >= len(self._items):
                    return
                index, self._taken = self._taken, self._taken + 1
            try:
                outcome: tuple[bool, Any] = (True, self._read(self._items[index]))
            except BaseException as exc:  # handed to the consumer, who raises it
                outcome = (False, exc)
            with self._cond:
                self._done[index] = outcome
                self._cond.notify_all()

    def __iter__(self) -> Iterator[Any]:
        try:
            for index in range(len(self._items)):
                with self._cond:
                    while index not in self._done:
                        self._cond.wait()
                    ok, value = self._done.pop(index)
                    self._consumed = index + 1
                    self._cond.notify_all()
                if not ok:
                    raise value
                yield value
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()
