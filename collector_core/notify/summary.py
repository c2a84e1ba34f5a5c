"""The end-of-run summary a person reads after `aws-collector run` and the demo."""
from __future__ import annotations

from collector_core.notify import safe
from collector_core.plugins import Registry
from collector_core.results import Status
from collector_core.runtime.director import RunResult


def render_summary(result: RunResult, registry: Registry, seconds: float) -> str:
    """Accounts by status, findings by plugin, and every failure by name."""
    results = result.results or []
    by_plugin: dict[str, int] = {}
    regions: set[str] = set()
    for r in results:
        regions.update(r.regions)
        for plugin, n in r.findings_by_plugin().items():
            by_plugin[plugin] = by_plugin.get(plugin, 0) + n
    statuses = {s: sum(1 for r in results if r.status == s) for s in (Status.OK, Status.PARTIAL, Status.FAILED)}
    errors = [e for r in results for e in r.errors]
    error_total = sum(r.error_total for r in results)
    lines = [
        f"Run {result.run_id}: {len(results)} accounts, {len(regions)} regions, "
        f"{sum(by_plugin.values())} findings in {seconds:.1f} s",
        "  accounts: " + ", ".join(f"{n} {s}" for s, n in statuses.items()),
        "  findings by plugin: "
        + (", ".join(f"{p} {by_plugin.get(p, 0)}" for p in sorted(set(by_plugin) | set(registry.names())))),
    ]
    if result.subset:
        lines.append(f"  subset run: {result.subset.describe()} (only these were scanned, and only what they "
                     "scanned can be resolved)")
    incomplete = [r.account.id for r in results if not r.complete]
    if incomplete:
        lines.append(f"  incomplete (deadline reached): {', '.join(incomplete)}")
    if error_total:
        lines.append(f"  errors ({error_total}):")
        lines += [f"    {e.account_id} {e.region} {e.plugin}: {e.error}: {e.message}" for e in errors]
        for r in results:
            if r.error_total > len(r.errors):  # a flood of failures is counted, not listed
                counts = ", ".join(f"{p} {code} x{n}" for p, codes in sorted(r.error_counts.items())
                                   for code, n in sorted(codes.items()))
                lines.append(f"    {r.account.id}: {r.error_total - len(r.errors)} more ({counts})")
    for failure in registry.failures:
        lines.append(f"  plugin {failure.plugin.name} ({failure.plugin.distribution}) failed to "
                     f"{failure.stage}: {failure.error}")
    return "\n".join(safe.terminal(line) for line in lines)  # account names and plugins' errors are data
