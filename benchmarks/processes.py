"""Start benchmark children (``benchmarks.child``) and read their timings and peak memory."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ChildRun:
    """What one child process reported, and what the kernel says it used."""

    mode: str
    cold_start: float  # spawn -> ready (interpreter, imports, handler set-up)
    imports: float  # module start -> imports done, as the child measured it
    out: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: float = 0.0  # VmHWM: the child's own peak, not the fork's copy of the parent
    returncode: int = 0
    stderr: str = ""
    result_at: float = 0.0  # time.perf_counter() in the parent when the result arrived

    @property
    def ok(self) -> bool:
        """True when the child ran to the end."""
        return self.returncode == 0 and "wall" in self.out


class Child:
    """A child process that has imported and set itself up, waiting for its one job."""

    def __init__(self, mode: str, *, data_limit_mb: int | None = None) -> None:
        self.mode = mode
        self.spawned = time.time()
        limit = None if data_limit_mb is None else data_limit_mb * 1024 * 1024

        def limit_memory() -> None:  # runs in the child before exec: the limit covers everything
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.child", mode], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            preexec_fn=limit_memory,
        )
        self.ready: dict[str, Any] = {}

    def wait_ready(self) -> bool:
        """Block until the child is set up; False if it died first."""
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line:
            self.ready = json.loads(line)
        return bool(line)

    def start(self, job: dict[str, Any]) -> None:
        """Hand the child its job."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float | None = None) -> ChildRun:
        """Read the result, reap the child and take its peak RSS; kill it after ``timeout`` s."""
        # A thread that cannot get memory for its start-up hangs Thread.start() forever: a
        # child under a too-small limit may never answer.
        timer = threading.Timer(timeout, self.proc.kill) if timeout else None
        if timer:
            timer.start()
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if timer:
            timer.cancel()
        result_at = time.perf_counter()
        out = json.loads(line) if line else {}
        self.proc.wait()
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        ready = self.ready
        return ChildRun(
            mode=self.mode,
            cold_start=(ready["ready"] - self.spawned) if ready else 0.0,
            imports=(ready["imported"] - ready["started"]) if ready else 0.0,
            out=out,
            # ru_maxrss would count the forked copy of this (large) harness before exec: the
            # child reads its own VmHWM, which exec resets.
            peak_rss_mb=out.get("peak_rss_mb", 0.0),
            returncode=self.proc.returncode,
            stderr=stderr[-2000:],
            result_at=result_at,
        )


def run_child(mode: str, job: dict[str, Any], *, data_limit_mb: int | None = None,
              timeout: float | None = None) -> ChildRun:
    """Spawn a child, give it one job, and return what it did (killed after ``timeout`` s)."""
    child = Child(mode, data_limit_mb=data_limit_mb)
    if child.wait_ready():
        child.start(job)
    return child.finish(timeout)
