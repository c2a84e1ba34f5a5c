"""A bound on how long a command may wait for AWS (or a webhook): `--deadline SECONDS`.

Every client has connect and read timeouts, but a read timeout bounds one wait for bytes, not a
call: an endpoint that accepts and never answers costs every retry's timeout in turn (minutes),
and one that sends a byte every few seconds is never timed out at all. So the command itself has
a deadline, kept by SIGALRM in the main thread: when it passes, the call in progress is
interrupted and the command ends, naming the endpoint it was waiting for.
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Long enough for a large table and a paced, rate-limited Slack report; short of "forever".
DEFAULT_SECONDS = 600


class DeadlineExceeded(BaseException):
    """The command's deadline passed. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way (a retry, a channel's error handling) can swallow it."""


def add_option(p: argparse.ArgumentParser, what: str = "the command") -> None:
    """The --deadline option of a command that waits for AWS."""
    p.add_argument("--deadline", type=_seconds, default=DEFAULT_SECONDS, metavar="SECONDS",
                   help=f"give up on {what} after this many seconds and exit 1, naming the endpoint "
                        f"that did not answer (default {DEFAULT_SECONDS}; 0: no limit)")


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("expected a number of seconds, 0 or more")
    return value


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise DeadlineExceeded in the main thread once ``seconds`` have passed (POSIX; no bound
    elsewhere, nor off the main thread, nor for None or 0)."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        from collector_core.aws.clients import waiting_on

        what = waiting_on() or os.environ.get("AWS_ENDPOINT_URL") or "AWS"
        raise DeadlineExceeded(f"gave up after {seconds:g} s (--deadline) waiting for {what}")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def suspended() -> Iterator[None]:
    """Stop the clock for the length of the block (work with bounds of its own), then go on."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    remaining, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining)
