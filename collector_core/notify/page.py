"""The report as one self-contained HTML page: headline, severities, the accounts whose scans
cannot be vouched for, the history chart, an account x plugin matrix, and a table per plugin that
sorts, filters and pages in the browser.

Nothing on the page reaches the network: CSS and JavaScript are inline and allowed by their
hashes in a Content-Security-Policy that forbids everything else (``default-src 'none'``). Data
that came from AWS or a plugin is either escaped into the markup built here (``html.escape``) or
carried as JSON in a ``<script type="application/json">`` element (``<``, ``>``, ``&`` and the
line separators escaped, so no text can end the element) that the script reads and shows with
``textContent``, never as markup.

A page stays usable however many findings there are: each plugin's table embeds its
MAX_ROWS_PER_PLUGIN most severe (then oldest) open findings, says how many it left out and how to
list them all, and the browser renders one page of 100 rows at a time. The page is written as a
stream, one plugin at a time, so memory follows one plugin's embedded rows, not the report.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import html
import importlib.resources
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from collector_core import __version__
from collector_core.collector import SEVERITIES
from collector_core.findings import RunSummary, iso
from collector_core.notify import mutes as mute_rules
from collector_core.notify.chart import history_html
from collector_core.notify.report import Entry, PluginSection, Report, section_title

#: Open findings embedded per plugin; the rest are counted and left to `findings --format csv`.
MAX_ROWS_PER_PLUGIN = 20_000
MAX_RESOLVED_LISTED = 200
MAX_MATRIX_ACCOUNTS = 500
COLUMNS = (("severity", "Severity", ""), ("account", "Account", ""), ("region", "Region", ""),
           ("resource", "Resource", ""), ("finding", "Finding", ""), ("age", "Open (days)", "num"),
           ("new", "New", ""))
# JSON inside <script> must not be able to close it or start a comment; U+2028/2029 end a line in
# old JavaScript parsers. Each becomes its \u escape, which JSON reads back as the same character.
_SCRIPT_SAFE = {ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"}
_e = html.escape


@functools.cache
def asset(name: str) -> str:
    """A static file of the page (``report.css``, ``report.js``), shipped with the package."""
    return (importlib.resources.files("collector_core.notify") / "assets" / name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy() -> str:
    """Only the page's own script and style run; nothing is fetched (``img-src data:`` serves the
    empty icon, which keeps the browser from asking for /favicon.ico)."""
    return (f"default-src 'none'; script-src {_hash(asset('report.js'))}; style-src {_hash(asset('report.css'))}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def script_json(value: Any) -> str:
    """JSON that can sit inside a <script> element and mean the same to JSON.parse."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE)


def render(report: Report, history: Sequence[RunSummary] = (), *, max_rows: int = MAX_ROWS_PER_PLUGIN) -> str:
    """The whole page as a string (``history`` oldest first)."""
    out = io.StringIO()
    write(report, history, out, max_rows=max_rows)
    return out.getvalue()


def write(report: Report, history: Sequence[RunSummary], out: IO[str], *,
          max_rows: int = MAX_ROWS_PER_PLUGIN) -> None:
    """Write the page to ``out``, one plugin's rows at a time."""
    out.write(_head(report))
    out.write(_summary(report))
    out.write('<section id="history" aria-labelledby="history-heading"><h2 id="history-heading">History</h2>\n')
    out.write(history_html(history) + "\n</section>\n")
    out.write(_matrix(report))
    out.write(_findings(report, max_rows))
    out.write(f'</main>\n<footer class="note"><p>Built by aws-collector {_e(__version__)} on '
              f"{_e(iso(report.generated))}. The page needs no network and opens from disk; "
              "<code>aws-collector findings --format csv</code> lists every current finding.</p></footer>\n")
    out.write('<script type="application/json" id="report-data">')
    _data(report, max_rows, out)
    out.write(f"</script>\n<script>{asset('report.js')}</script>\n</body>\n</html>\n")


def _head(report: Report) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="referrer" content="no-referrer">\n'
            f"<title>aws-collector report, {_e(iso(report.generated)[:10])}: {report.open} open</title>\n"
            f'<link rel="icon" href="data:,">\n<style>{asset("report.css")}</style>\n</head>\n<body>\n'
            '<a class="skip" href="#findings">Skip to the findings</a>\n<header>\n<h1>aws-collector report</h1>\n'
            f'<p class="subtitle">{_e(report.headline())}</p>\n<p class="meta">{_e(_about(report))}</p>\n'
            '<p id="route-note" class="meta" role="status" hidden></p>\n'
            '<nav class="contents" aria-label="Contents"><ul><li><a href="#summary">Summary</a></li>'
            '<li><a href="#history">History</a></li><li><a href="#accounts">Accounts</a></li>'
            '<li><a href="#findings">Findings</a></li></ul></nav>\n</header>\n<main>\n')


def _about(report: Report) -> str:
    built = iso(report.generated).replace("T", " ").replace("Z", " UTC")
    accounts = f"{report.accounts} account{'s' if report.accounts != 1 else ''}"
    run = f"Run {report.run_id} (number {report.run_seq}), {accounts}" if report.run_id else accounts
    return f"{run}; built {built}."


def _summary(report: Report) -> str:
    totals = [("Open", report.open), ("New", report.new), ("Resolved", report.resolved), ("Muted", report.muted),
              ("Accounts incomplete", len(report.problems))]
    parts = ['<section id="summary" aria-labelledby="summary-heading"><h2 id="summary-heading">Summary</h2>',
             '<dl class="totals">' + "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in totals)
             + "</dl>", "<h3>Open findings by severity</h3>", '<ul class="severities">']
    parts += [f'<li><span class="sev sev-{s}">{s}</span><strong>{n}</strong></li>'
              for s, n in report.severities().items()]
    parts.append("</ul>")
    if report.not_started:
        parts += ['<h3>Runs that never started</h3><p>Nothing was scanned in them; the findings here are older.</p>'
                  '<ul class="not-started">']
        parts += [f"<li>{_e(r.describe())}</li>" for r in report.not_started]
        parts.append("</ul>")
    parts.append("<h3>Accounts this report cannot vouch for</h3>")
    if report.problems:
        parts.append('<p>Their earlier findings stay open until a clean scan.</p><div class="wide"><table>'
                     '<caption class="visually-hidden">Accounts whose scans failed, were partial or never '
                     'reported</caption><thead><tr><th scope="col">Account</th><th scope="col">Status</th>'
                     '<th scope="col">Why</th></tr></thead><tbody>')
        parts += [f'<tr><th scope="row">{_account(p.account_id, p.account_name)}</th><td class="problem-status">'
                  f"{_e(p.status)}</td><td>{_e(p.detail)}</td></tr>" for p in report.problems]
        parts.append("</tbody></table></div>")
    elif report.run_id is None:
        parts.append("<p>No run on record yet: these are the findings the table holds.</p>")
    else:
        parts.append("<p>None: every account's scan in this run was complete.</p>")
    if report.expired_mutes:
        parts += ["<h3>Mutes that have expired</h3><p>Their findings are reported again.</p><ul>"]
        parts += [f"<li>{_e(mute_rules.describe(m))}</li>" for m in report.expired_mutes]
        parts.append("</ul>")
    return "\n".join(parts) + "\n</section>\n"


def _account(account_id: str, name: str) -> str:
    return _e(account_id) if name == account_id else f'{_e(name)}<span class="id">{_e(account_id)}</span>'


def _matrix(report: Report) -> str:
    plugins = [s.plugin for s in report.sections if s.open]
    by_account: Counter[str] = Counter()
    for (account_id, _), count in report.open_by_account.items():
        by_account[account_id] += count
    parts = ['<section id="accounts" aria-labelledby="accounts-heading">'
             '<h2 id="accounts-heading">Open findings by account and plugin</h2>']
    if not by_account:
        return parts[0] + "<p>No open findings.</p></section>\n"
    ranked = sorted(by_account, key=lambda a: (-by_account[a], a))
    top = max(report.open_by_account.values())
    shown = ranked[:MAX_MATRIX_ACCOUNTS]
    parts.append(f"<p>{len(ranked)} account{'s' if len(ranked) != 1 else ''} with open findings, most first. "
                 "Shading repeats the number in each cell.</p>")
    head = "".join(f'<th scope="col" class="num">{_e(p)}</th>' for p in plugins)
    parts.append('<div class="wide"><table class="matrix"><caption class="visually-hidden">Open findings per '
                 f'account and plugin</caption><thead><tr><th scope="col">Account</th>{head}'
                 '<th scope="col" class="num">Total</th></tr></thead><tbody>')
    for account_id in shown:
        cells = "".join(_heat(report.open_by_account[(account_id, p)], top) for p in plugins)
        name = report.account_names.get(account_id, account_id)
        parts.append(f'<tr><th scope="row">{_account(account_id, name)}</th>{cells}'
                     f'<td class="num"><strong>{by_account[account_id]}</strong></td></tr>')
    totals = "".join(f'<td class="num">{len(s.open)}</td>' for s in report.sections if s.open)
    parts.append(f'</tbody><tfoot><tr><th scope="row">All accounts</th>{totals}'
                 f'<td class="num"><strong>{report.open}</strong></td></tr></tfoot></table></div>')
    if len(ranked) > len(shown):
        parts.append(f'<p class="note">…and {len(ranked) - len(shown)} more accounts with fewer open findings.</p>')
    return "\n".join(parts) + "\n</section>\n"


def _heat(count: int, top: int) -> str:
    level = math.ceil(4 * count / top) if count else 0
    return f'<td class="num heat-{level}">{count}</td>'


def _findings(report: Report, max_rows: int) -> str:
    severity = "".join(f'<option value="{i}">{s} and above</option>' for i, s in enumerate(SEVERITIES) if i)
    parts = ['<section id="findings" aria-labelledby="findings-heading"><h2 id="findings-heading">Findings</h2>',
             "<noscript><p>The findings tables are filled, sorted and filtered by the page's script, which "
             "is turned off: <code>aws-collector findings --format csv</code> lists the same findings.</p></noscript>",
             '<form id="filters" class="controls" role="search" aria-label="Filter the findings" hidden>'
             + _field("text", "Text", '<input type="search" placeholder="resource, account, finding…">')
             + _field("severity", "Severity", f'<select><option value="0">any</option>{severity}</select>')
             + _field("account", "Account", '<select><option value="">any</option></select>')
             + _field("region", "Region", '<select><option value="">any</option></select>')
             + _field("age", "Open at least (days)", '<input type="number" min="0" step="1" inputmode="numeric">')
             + (_field("route", "Route", '<select><option value="">any</option></select>') if report.route_totals
                else "")
             + '<div class="field check"><input type="checkbox" id="filter-onlyNew" name="onlyNew">'
             '<label for="filter-onlyNew">New only</label></div><button type="reset">Clear</button></form>',
             '<p id="filter-status" role="status" aria-live="polite"></p>']
    if not report.sections:
        parts.append("<p>No findings.</p>")
    for index, section in enumerate(report.sections):
        parts.append(_section(index, section, max_rows))
    return "\n".join(parts) + "\n</section>\n"


def _field(name: str, label: str, control: str) -> str:
    """A labelled control of the filter form (``control`` is its tag, to which id and name are added)."""
    tag_end = control.index(">")
    named = f'{control[:tag_end]} id="filter-{name}" name="{name}"{control[tag_end:]}'
    return f'<div class="field"><label for="filter-{name}">{label}</label>{named}</div>'


def _section(index: int, section: PluginSection, max_rows: int) -> str:
    name = f"plugin-{index}"
    heads = "".join(f'<th scope="col" data-key="{key}" class="{cls}"><button type="button">{label}</button></th>'
                    for key, label, cls in COLUMNS)
    parts = [f'<section id="{name}" class="plugin" aria-labelledby="{name}-heading">',
             f'<h3 id="{name}-heading">{_e(section_title(section))}</h3>']
    if len(section.open) > max_rows:
        parts.append(f'<p class="note">This table holds the {max_rows:,} most severe (then oldest) of '
                     f"{len(section.open):,} open findings; {len(section.open) - max_rows:,} are left out: "
                     f"<code>aws-collector findings --plugin {_e(section.plugin)} --format csv</code> lists them all."
                     "</p>")
    parts.append(f'<div class="wide"><table class="findings" aria-describedby="{name}-shown"><caption '
                 f'class="visually-hidden">Open findings of {_e(section.plugin)}</caption><thead><tr>{heads}'
                 f'</tr></thead><tbody></tbody></table></div><p class="shown" id="{name}-shown"></p>'
                 f'<nav class="pager" aria-label="Pages of {_e(section.plugin)}"><button type="button" '
                 'data-page="previous">Previous page</button><button type="button" data-page="next">Next page'
                 "</button></nav>")
    if section.resolved:
        listed = section.resolved.head(MAX_RESOLVED_LISTED)
        parts.append(f"<details><summary>Resolved since the previous run ({len(section.resolved)})</summary><ul>")
        parts += [f"<li>{_e(' '.join(e.location))}: <s>{_e(e.line)}</s></li>" for e in listed]
        if len(section.resolved) > len(listed):
            parts.append(f"<li>…and {len(section.resolved) - len(listed)} more</li>")
        parts.append("</ul></details>")
    if section.muted:
        parts.append(f'<p class="note">{len(section.muted)} muted finding{"s" if len(section.muted) != 1 else ""} '
                     "left out (the config's <code>mute:</code> section).</p>")
    return "\n".join(parts) + "\n</section>"


def embedded(section: PluginSection, max_rows: int, report: Report) -> list[Entry]:
    """The open findings a plugin's table embeds: the most severe, then the oldest, at most ``max_rows``
    (a heap of that size over the streamed list, never the whole list in memory); past that, each
    route's own most severe too, so the page opened on a route (``?route=``) shows its findings."""
    def rank(entry: Entry) -> tuple[Any, ...]:
        days = entry.open_days(report.generated)
        return (-_severity(entry), -(days if days is not None else -1), entry.account_id, entry.region,
                entry.resource_id)

    chosen = heapq.nsmallest(max_rows, section.open, key=rank)
    if len(section.open) <= max_rows or not report.route_totals:
        return chosen
    by_key = {(e.account_id, e.region, e.resource_id): e for e in chosen}
    for route in report.route_totals:
        for entry in heapq.nsmallest(max_rows, (e for e in section.open if route in e.routes), key=rank):
            by_key.setdefault((entry.account_id, entry.region, entry.resource_id), entry)
    return sorted(by_key.values(), key=rank)


def _severity(entry: Entry) -> int:
    return SEVERITIES.index(entry.severity) if entry.severity in SEVERITIES else 0


def _data(report: Report, max_rows: int, out: IO[str]) -> None:
    """The JSON the script reads, streamed: rows are [account, region, resource, severity, finding,
    age in days, new] and, when the config has routes, the indexes into ``routes`` of those the
    finding matched; the account an index into ``accounts`` (names once, not per row)."""
    accounts: dict[str, int] = {}
    names: list[list[str]] = []
    # The object's first keys, left open ([:-1] drops its "}") for the sections streamed after them.
    out.write(script_json({"generated": iso(report.generated), "severities": list(SEVERITIES),
                           "run": {"id": report.run_id, "seq": report.run_seq, "accounts": report.accounts},
                           "totals": {"open": report.open, "new": report.new, "resolved": report.resolved,
                                      "muted": report.muted, "incomplete_accounts": len(report.problems)},
                           "routes": [[name, totals["open"], totals["new"]]
                                      for name, totals in report.route_totals.items()]})[:-1])
    route_index = {name: i for i, name in enumerate(report.route_totals)}
    out.write(',"sections":[')
    for number, section in enumerate(report.sections):
        rows = []
        for entry in embedded(section, max_rows, report):
            if entry.account_id not in accounts:
                accounts[entry.account_id] = len(names)
                names.append([entry.account_id, report.account_names.get(entry.account_id) or entry.account_name])
            account = accounts[entry.account_id]
            row = [account, entry.region, entry.resource_id, _severity(entry), entry.line,
                   entry.open_days(report.generated), int(entry.is_new)]
            if route_index:
                row.append([route_index[r] for r in entry.routes if r in route_index])
            rows.append(row)
        out.write(("," if number else "") + script_json(
            {"plugin": section.plugin, "open": len(section.open), "new": section.new_count,
             "resolved": len(section.resolved), "muted": len(section.muted), "rows": rows}))
    out.write('],"accounts":' + script_json(names) + "}")
