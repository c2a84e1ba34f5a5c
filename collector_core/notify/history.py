"""A run's report in numbers, kept long after its findings expire: what the HTML page charts.

Findings and run records expire after ``ttl_days`` (a week by default), so nothing else remembers
whether a plugin's count is growing. Whoever completes a run's report writes its summary once (a
conditional put in the store): the notifier (``channels.notify_run_complete``), or ``aws-collector
run`` itself when no report goes out at the end of its run. Each summary is a few hundred bytes,
so a year of daily runs is a few hundred kilobytes in the table.
"""
from __future__ import annotations

from collector_core.findings import PluginCounts, RunSummary, iso
from collector_core.notify.report import Report
from collector_core.store import Store

#: Days a run's summary is kept: a year of daily runs, with a month to spare.
DEFAULT_HISTORY_DAYS = 400
#: Accounts with problems named in a summary; the count covers them all.
MAX_PROBLEMS = 50


def summarise(report: Report) -> RunSummary | None:
    """A run's report in numbers (None for a report of no particular run)."""
    if report.run_id is None or report.run_seq is None:
        return None
    plugins = {s.plugin: PluginCounts(open=len(s.open), new=s.new_count, resolved=len(s.resolved), muted=len(s.muted))
               for s in report.sections}
    return RunSummary(run_id=report.run_id, run_seq=report.run_seq, time=iso(report.generated),
                      accounts=report.accounts, plugins=plugins,
                      severities={s: n for s, n in report.severities().items() if n},
                      problems=tuple((p.account_id, p.status) for p in report.problems[:MAX_PROBLEMS]),
                      problem_count=len(report.problems))


def record(store: Store, report: Report, *, days: int = DEFAULT_HISTORY_DAYS) -> bool:
    """Keep a run's summary for ``days``, once per run: True if this call wrote it."""
    summary = summarise(report)
    if summary is None:
        return False
    return store.write_history(summary, now=report.generated, ttl_days=days)
