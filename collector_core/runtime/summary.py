"""The end-of-run summary a person reads after `aws-collector run` and the demo."""
from __future__ import annotations

from collector_core.notify import safe
from collector_core.plugins import Registry
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
    statuses = {s: sum(1 for r in results if r.status == s) for s in ("ok", "partial", "failed")}
    errors = [e for r in results for e in r.errors]
    lines = [
        f"Run {result.run_id}: {len(results)} accounts, {len(regions)} regions, "
        f"{sum(by_plugin.values())} findings in {seconds:.1f} s",
        "  accounts: " + ", ".join(f"{n} {s}" for s, n in statuses.items()),
        "  findings by plugin: "
        + (", ".join(f"{p} {by_plugin.get(p, 0)}" for p in sorted(set(by_plugin) | set(registry.names())))),
    ]
    incomplete = [r.account.id for r in results if not r.complete]
    if incomplete:
        lines.append(f"  incomplete (deadline reached): {', '.join(incomplete)}")
    if errors:
        lines.append(f"  errors ({len(errors)}):")
        lines += [f"    {e.account_id} {e.region} {e.plugin}: {e.error}: {e.message}" for e in errors]
    for failure in registry.failures:
        lines.append(f"  plugin {failure.plugin.name} ({failure.plugin.distribution}) failed to "
                     f"{failure.stage}: {failure.error}")
    return "\n".join(safe.terminal(line) for line in lines)  # account names and plugins' errors are data
