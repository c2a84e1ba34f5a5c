"""The report as plain text: what `notify --stdout` and the demo print, and the email's text part."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from collector_core.notify import mutes as mute_rules
from collector_core.notify import safe
from collector_core.notify.report import Entry, Report, section_title


def render(report: Report) -> str:
    """The whole report, grouped by plugin, then account and region."""
    lines = [report.headline()]
    if report.run_id:
        lines.append(f"run {report.run_id}, {report.accounts} account{'s' if report.accounts != 1 else ''}")
    if report.problems:
        lines += ["", "Incomplete scans (their earlier findings stay open):"]
        lines += [f"  {p.account_id} {p.account_name}: {p.status}, {p.detail}" for p in report.problems]
    if report.expired_mutes:
        lines += ["", "Mutes that have expired (their findings are reported again):"]
        lines += [f"  {mute_rules.describe(m)}" for m in report.expired_mutes]
    for section in report.sections:
        lines += ["", f"== {section_title(section)}"]
        lines += list(_grouped(section.open, report))
        if section.resolved:
            lines.append("  resolved since the previous run:")
            lines += [f"    {' '.join(e.place)}: {e.line}" for e in section.resolved]
    if not report.sections:
        lines += ["", "No findings."]
    return "\n".join(safe.terminal(line) for line in lines)  # data must not drive the terminal


def _grouped(entries: Iterable[Entry], report: Report) -> Iterator[str]:
    place = None
    for entry in entries:
        if entry.place != place:
            place = entry.place
            yield f"  {place.account_id} {place.account_name} / {place.region}"
        yield "    " + entry_text(entry, report)


def entry_text(entry: Entry, report: Report) -> str:
    """``NEW  high     <line>  (open 40 days)``."""
    days = entry.open_days(report.generated)
    age = f"  (open {days} day{'s' if days != 1 else ''})" if days else ""
    return f"{'NEW ' if entry.is_new else '    '} {entry.finding['severity']:<8} {entry.line}{age}"
