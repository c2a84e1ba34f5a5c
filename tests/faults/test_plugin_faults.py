"""Scenario 3: a plugin that raises, one that yields malformed findings, one that hangs.

The others complete; each bad finding is rejected alone with an error record; the hang is cut
off at the worker's deadline and the account marked incomplete.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_harness import REGIONS, Faults

from collector_core import Collector, Finding, Scope, hookimpl
from collector_core.collector import CollectorContext
from collector_core.notify.summary import render_summary
from collector_core.plugins import PluginSpec, Registry, load_plugins

HANG_REGION = "ap-southeast-2"
DEADLINE = 6.0
BAD = {  # what the malformed plugin yields, and the message that must name it
    "missing resource_id": ({"summary": "no id here"}, "resource_id must be a non-empty string"),
    "a float": (3.14, "got float"),
    "non-JSON details": ({"resource_id": "r-object", "summary": "s", "details": {"x": object()}},
                         "r-object: details are not JSON"),
    "500 KB details": ({"resource_id": "r-huge", "summary": "s", "details": {"blob": "x" * 500_000}},
                       "r-huge: details are"),
}


class FaultyPlugins:
    """Three misbehaving collectors, registered beside the built-ins."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.huge_ok = False  # the first run yields r-huge with small details
        self.hang_started = threading.Event()

    @hookimpl
    def register_collectors(self, register: Callable[[Collector], None]) -> None:
        register(Collector(name="broken", scope=Scope.REGIONAL, summary="raises", collect=self.broken))
        register(Collector(name="malformed", scope=Scope.GLOBAL, summary="bad findings",
                           collect=self.malformed))
        register(Collector(name="hangs", scope=Scope.REGIONAL, summary="never returns", collect=self.hangs))

    def broken(self, ctx: CollectorContext) -> Iterator[Finding]:
        yield Finding(resource_id=f"before-the-crash-{ctx.region}", summary="yielded before raising")
        raise RuntimeError(f"collector bug in {ctx.region}")

    def malformed(self, ctx: CollectorContext) -> Iterator[Any]:
        yield Finding(resource_id="good-1", summary="a good finding")
        if self.huge_ok:
            yield {"resource_id": "r-huge", "summary": "small today", "details": {"blob": "x"}}
        else:
            yield from (value for value, _ in BAD.values())
        yield {"resource_id": "good-2", "summary": "another good one", "severity": "low"}

    def hangs(self, ctx: CollectorContext) -> Iterator[Finding]:
        if ctx.region == HANG_REGION:
            self.hang_started.set()
            self.release.wait(120)  # a plugin stuck in a call with no timeout
        return iter(())


@pytest.fixture
def plugins() -> Iterator[tuple[FaultyPlugins, Registry]]:
    faulty = FaultyPlugins()
    spec = PluginSpec(name="faulty", distribution="faulty-plugins", version="0", value="faulty")
    try:
        yield faulty, load_plugins(extra=[(spec, faulty)])
    finally:
        faulty.release.set()  # let the abandoned thread end


def test_bad_plugins_do_not_stop_the_others(faults: Faults, plugins: tuple[FaultyPlugins, Registry],
                                            figures: dict[str, Any]) -> None:
    faulty, registry = plugins
    faults.registry = registry
    faulty.huge_ok = True
    faulty.release.set()  # the first run: nothing hangs
    first = faults.run()
    assert ("malformed", faults.org.accounts[0].id, "global", "r-huge") in faults.current()

    faulty.huge_ok = False
    faulty.release.clear()
    started = time.monotonic()
    second = faults.run(timeout=DEADLINE)
    seconds = time.monotonic() - started
    assert faulty.hang_started.is_set()
    assert seconds < DEADLINE + 5, "the worker did not stop at its deadline"

    ids = [a.id for a in faults.org.accounts]
    expected = faults.expected() | {("malformed", a, "global", i) for a in ids
                                    for i in ("good-1", "good-2", "r-huge")}
    expected |= {("broken", a, r, f"before-the-crash-{r}") for a in ids for r in REGIONS}
    stored = faults.stored()
    assert len(stored) == len(set(stored))
    # Every finding of the well-behaved collectors landed, the hang region's included; r-huge,
    # rejected this time, was not resolved by a scan that dropped it.
    assert faults.current() == expected

    for result in second.results or []:
        errors = [(e.region, e.plugin, e.error, e.message) for e in result.errors]
        assert not result.complete and result.status == "partial"
        assert ("hangs" in {e[1] for e in errors if e[2] == "DeadlineExceeded"}
                and {e[0] for e in errors if e[2] == "DeadlineExceeded"} == {HANG_REGION}), errors
        bad = [e for e in errors if e[1] == "malformed"]
        assert len(bad) == len(BAD), bad
        for (_, text), error in zip(BAD.values(), bad, strict=True):
            assert error[0] == "global" and error[2] == "BadFinding" and text in error[3], error
        crashed = sorted(e[0] for e in errors if e[1] == "broken")
        assert crashed == sorted(REGIONS)
        assert all("collector bug in" in e[3] for e in errors if e[1] == "broken")
        scans = {(s.region, s.plugin): s.ok for s in result.scans}
        for region in REGIONS:
            for plugin in ("open_security_groups", "unattached_ebs"):
                assert scans[(region, plugin)], (region, plugin)
        assert scans[("global", "iam_key_age")] and not scans[("global", "malformed")]
    summary = render_summary(second, registry, seconds)
    incomplete = next(line for line in summary.splitlines() if "incomplete (deadline reached)" in line)
    assert all(a in incomplete for a in ids), summary
    figures.update(deadline_s=DEADLINE, run_s=round(seconds, 1), bad_findings_rejected=len(BAD) * len(ids),
                   errors=sum(len(r.errors) for r in second.results or []),
                   landed=len(faults.current()), expected=len(expected))
    assert first.run_id < second.run_id
