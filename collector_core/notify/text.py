"""The report as plain text: what `notify --stdout` and the demo print, and the email's text part."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from collector_core.notify import mutes as mute_rules
from collector_core.notify import safe
from collector_core.notify.report import Entry, Report, section_title


def render(report: Report, *, max_per_plugin: int | None = None) -> str:
    """The whole report as one string (``max_per_plugin``: open findings listed per plugin)."""
    return "\n".join(lines(report, max_per_plugin=max_per_plugin))


def lines(report: Report, *, max_per_plugin: int | None = None) -> Iterator[str]:
    """The report line by line, grouped by plugin, then account and region: streams the findings.
    Data must not drive the terminal: escape sequences and control characters are taken out."""
    return (safe.terminal(line) for line in _lines(report, max_per_plugin))


def _lines(report: Report, max_per_plugin: int | None) -> Iterator[str]:
    yield report.headline()
    if report.run_id:
        yield f"run {report.run_id}, {report.accounts} account{'s' if report.accounts != 1 else ''}"
    if report.not_started:
        yield from ["", "Runs that never started (nothing was scanned; the findings below are older):"]
        yield from (f"  {r.describe()}" for r in report.not_started)
    if report.problems:
        yield from ["", "Incomplete scans (their earlier findings stay open):"]
        yield from (f"  {p.account_id} {p.account_name}: {p.status}, {p.detail}" for p in report.problems)
    if report.expired_mutes:
        yield from ["", "Mutes that have expired (their findings are reported again):"]
        yield from (f"  {mute_rules.describe(m)}" for m in report.expired_mutes)
    for section in report.sections:
        yield from ["", f"== {section_title(section)}"]
        shown = section.open if max_per_plugin is None else section.open.head(max_per_plugin)
        yield from _grouped(shown, report)
        if max_per_plugin is not None and len(section.open) > max_per_plugin:
            yield f"  …and {len(section.open) - max_per_plugin} more: aws-collector findings --plugin {section.plugin}"
        if section.resolved:
            yield "  resolved since the previous run:"
            yield from (f"    {' '.join(e.location)}: {e.line}" for e in section.resolved)
    if not report.sections:
        yield from ["", "No findings."]


def _grouped(entries: Iterable[Entry], report: Report) -> Iterator[str]:
    location = None
    for entry in entries:
        if entry.location != location:
            location = entry.location
            yield f"  {location.account_id} {location.account_name} / {location.region}"
        yield "    " + entry_text(entry, report)


def entry_text(entry: Entry, report: Report) -> str:
    """``NEW  high     <line>  (open 40 days)``."""
    days = entry.open_days(report.generated)
    age = f"  (open {days} day{'s' if days != 1 else ''})" if days else ""
    return f"{'NEW ' if entry.is_new else '    '} {entry.severity:<8} {entry.line}{age}"
