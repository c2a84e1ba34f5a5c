"""The history on the HTML page: open, new and resolved findings per plugin over the last runs, as
inline SVG drawn here (no script, no library), with the same numbers as a table.

Each plugin's series differs in colour, dash pattern and marker shape, and is named in the legend
and in its own <title>, so colour is never the only way to tell two plugins apart.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

from collector_core.findings import PluginCounts, RunSummary

PANELS = (("open", "Open"), ("new", "New"), ("resolved", "Resolved"))
# Okabe and Ito's palette, told apart by people with any common colour blindness.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#8c564b")
DASHES = ("", "7 3", "2 3", "9 3 2 3", "14 4", "4 4")
MARKERS = ("circle", "square", "triangle", "diamond", "down", "cross")
WIDTH, HEIGHT = 380, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 30
#: Beyond this many runs the lines go without a marker per run.
MAX_MARKED_RUNS = 60
_e = html.escape


def history_html(history: Sequence[RunSummary]) -> str:
    """The legend, a chart per measure and the table of the same numbers (history oldest first)."""
    if not history:
        return ('<p>No run has recorded its summary yet. The history starts with the next run that '
                'completes (<code>aws-collector run</code>, or the notifier on Lambda).</p>')
    plugins = sorted({p for s in history for p in s.plugins})
    first, last = history[0].time[:10], history[-1].time[:10]
    runs = f"{len(history)} run{'s' if len(history) != 1 else ''}"
    parts = [f'<p>The last {runs}, from {_e(first)} to {_e(last)}.</p>', _legend(plugins)]
    parts += ['<div class="charts">', *(_panel(history, plugins, key, title) for key, title in PANELS), "</div>"]
    parts.append(_table(history, plugins))
    return "\n".join(parts)


def _count(summary: RunSummary, plugin: str, key: str) -> int:
    counts = summary.plugins.get(plugin, PluginCounts())
    return int(getattr(counts, key))


def _style(index: int) -> tuple[str, str, str]:
    """(colour, dash pattern, marker) of the index-th plugin: 24 distinct combinations."""
    return COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)], MARKERS[index % len(MARKERS)]


def _marker(shape: str, x: float, y: float, colour: str, r: float = 3.5) -> str:
    paint = f'fill="{colour}" stroke="{colour}"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" {paint}/>'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" {paint}/>'
    if shape == "cross":
        return (f'<path d="M{x - r:.1f} {y - r:.1f}L{x + r:.1f} {y + r:.1f}M{x - r:.1f} {y + r:.1f}'
                f'L{x + r:.1f} {y - r:.1f}" stroke="{colour}" stroke-width="2" fill="none"/>')
    points = {"triangle": [(0, -r - 1), (r + 1, r), (-r - 1, r)],
              "diamond": [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
              "down": [(-r - 1, -r), (r + 1, -r), (0, r + 1)]}[shape]
    shown = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in points)
    return f'<polygon points="{shown}" {paint}/>'


def _legend(plugins: Sequence[str]) -> str:
    items = []
    for index, plugin in enumerate(plugins):
        colour, dash, marker = _style(index)
        sample = ('<svg width="36" height="12" aria-hidden="true" focusable="false">'
                  f'<line x1="0" y1="6" x2="36" y2="6" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
                  f"{_marker(marker, 18, 6, colour)}</svg>")
        items.append(f"<li>{sample}{_e(plugin)}</li>")
    return f'<ul class="legend" aria-label="Plugins in the charts">{"".join(items)}</ul>'


def _panel(history: Sequence[RunSummary], plugins: Sequence[str], key: str, title: str) -> str:
    values = {p: [_count(s, p, key) for s in history] for p in plugins}
    top = _nice(max((v for series in values.values() for v in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(history) == 1 else i * plot_w / (len(history) - 1))

    def y(v: int) -> float:
        return TOP + plot_h - v * plot_h / top

    name = f"chart-{key}"
    trend = "; ".join(f"{p}: {v[0]} to {v[-1]}, at most {max(v)}" for p, v in values.items())
    svg = [f'<svg id="{name}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
           f'role="img" aria-labelledby="{name}-title {name}-desc">',
           f'<title id="{name}-title">{title} findings per plugin over the last {len(history)} runs</title>',
           f'<desc id="{name}-desc">{_e(trend)}</desc>']
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        svg.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"/>'
                   f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#57606a">'
                   f"{tick}</text>")
    ticks = sorted({0, len(history) - 1, (len(history) - 1) // 2})
    for i in ticks:
        anchor = "start" if i == 0 and len(history) > 1 else "end" if i == len(history) - 1 and i else "middle"
        svg.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}" font-size="11" fill="#57606a">'
                   f"{_e(history[i].time[:10])}</text>")
    marked = len(history) <= MAX_MARKED_RUNS
    for index, plugin in enumerate(plugins):
        colour, dash, marker = _style(index)
        series = values[plugin]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series))
        svg.append(f'<g class="series" data-plugin="{_e(plugin)}"><title>{_e(plugin)}: {title.lower()} '
                   f'{", ".join(map(str, series))}</title>'
                   f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                   f'stroke-dasharray="{dash}"/>')
        if marked:
            svg += [_marker(marker, x(i), y(v), colour) for i, v in enumerate(series)]
        svg.append("</g>")
    svg.append("</svg>")
    return f'<figure><h3 id="{name}-heading">{title}</h3>\n' + "".join(svg) + "</figure>"


def _nice(value: int) -> int:
    """A round top for the axis, at least the value: 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def _table(history: Sequence[RunSummary], plugins: Sequence[str]) -> str:
    head = "".join(f'<th scope="col" class="num">{_e(p)}<br>open / new / resolved</th>' for p in plugins)
    rows = []
    for summary in reversed(history):
        cells = "".join(f'<td class="num">{_count(summary, p, "open")} / {_count(summary, p, "new")} / '
                        f'{_count(summary, p, "resolved")}</td>' for p in plugins)
        rows.append(f'<tr><th scope="row">{_e(summary.time[:16].replace("T", " "))}<span class="id">'
                    f'run {_e(summary.run_id)}</span></th>{cells}<td class="num">{summary.accounts}</td>'
                    f'<td class="num">{summary.problem_count}</td></tr>')
    return ('<details><summary>The same history as a table</summary><div class="wide"><table>'
            '<caption>Findings per plugin in each run, newest first</caption><thead><tr><th scope="col">Run</th>'
            f'{head}<th scope="col" class="num">Accounts</th><th scope="col" class="num">Accounts with problems'
            f'</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div></details>')
