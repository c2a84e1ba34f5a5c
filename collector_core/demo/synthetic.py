"""A synthetic organization's report, built without any AWS: account states of any size as the
table would hold them after two runs, and a history of run summaries. For the HTML report's
browser tests, its screenshot and its benchmark; every name in it is made up.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from collector_core.findings import (
    AccountState,
    Attempt,
    PluginCounts,
    RunRecord,
    RunSummary,
    StoredFinding,
    iso,
    order,
)

ACCOUNT_NAMES = ("prod-payments", "prod-web", "prod-data", "staging", "shared-services", "security-tooling",
                 "dev-platform", "sandbox-ana", "sandbox-kofi", "logging", "network-hub", "analytics")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
PLUGINS = ("iam_key_age", "open_security_groups", "unattached_ebs")
SEVERITIES = {"unattached_ebs": ("low", "medium"), "open_security_groups": ("medium", "high", "critical"),
              "iam_key_age": ("medium", "high")}


@dataclass(frozen=True)
class Organization:
    """What a report is built from: the run, the one before it, and every account's state."""

    run: RunRecord
    previous: RunRecord
    states: list[AccountState]
    names: dict[str, str]


def organization(findings: int, *, accounts: int = 12, now: dt.datetime, seed: int = 14) -> Organization:
    """About ``findings`` open findings over ``accounts`` accounts after two runs: a tenth of them
    new in the second run, and as many again resolved by it."""
    rng = random.Random(seed)
    ids = [f"{100000000000 + 7919 * (i + 1):012d}" for i in range(accounts)]
    names = {a: ACCOUNT_NAMES[i % len(ACCOUNT_NAMES)] + (f"-{i // len(ACCOUNT_NAMES)}" if i >= len(ACCOUNT_NAMES)
                                                          else "") for i, a in enumerate(ids)}
    weights = [1 / (i + 1) for i in range(accounts)]  # a few accounts carry most of it, as in life
    per_account = [round(findings * w / sum(weights)) for w in weights]
    states = [_state(a, names[a], n, rng, now) for a, n in zip(ids, per_account, strict=True)]
    previous = RunRecord("run-0001", 1, iso(now - dt.timedelta(days=1)), tuple(ids))
    run = RunRecord("run-0002", 2, iso(now), tuple(ids))
    return Organization(run, previous, states, names)


def _state(account_id: str, name: str, count: int, rng: random.Random, now: dt.datetime) -> AccountState:
    places = frozenset({(r, p) for r in REGIONS for p in PLUGINS if p != "iam_key_age"} | {("global", "iam_key_age")})
    attempts = [Attempt(account_id, f"run-000{n}", n, n, n, "ok", places, {"account": {"id": account_id, "name": name}})
                for n in (1, 2)]
    findings: list[StoredFinding] = []
    resolved = max(1, count // 10) if count else 0  # and as many new
    for i in range(count + resolved):
        plugin = PLUGINS[i % len(PLUGINS)]
        region = "global" if plugin == "iam_key_age" else REGIONS[rng.randrange(len(REGIONS))]
        is_new, gone = i < resolved, i >= count
        days_open = 0 if is_new else rng.choice((1, 2, 4, 9, 16, 41, 96, 201))
        resource, summary = _resource(plugin, days_open, rng)
        finding = {"plugin": plugin, "account_id": account_id, "account_name": name, "region": region,
                   "resource_id": resource, "severity": rng.choice(SEVERITIES[plugin]), "summary": summary,
                   "details": {}, "run_id": "run-0001" if gone else "run-0002",
                   "first_seen": iso(now - dt.timedelta(days=days_open)),
                   "last_seen": iso(now), "ttl": int(now.timestamp()) + 7 * 86400}
        findings.append(StoredFinding(finding, seen_seq=1 if gone else 2, first_seq=2 if is_new else 1))
    # In the table's key order, as the store hands findings over.
    return AccountState(account_id, sorted(findings, key=lambda f: order(f.finding)), attempts)


def _resource(plugin: str, days_open: int, rng: random.Random) -> tuple[str, str]:
    token = f"{rng.getrandbits(64):016x}"
    if plugin == "unattached_ebs":
        size = rng.choice((8, 20, 100, 500))
        return f"vol-{token}", f"vol-{token} {size} GiB gp3, ~${size * 0.08:.2f}/month, unattached"
    if plugin == "open_security_groups":
        port = rng.choice((22, 3389, 5432, 8080, "all ports"))
        name = rng.choice(("bastion", "legacy-app", "debug", "vpn", "etl-workers"))
        return f"sg-{token}", f"sg-{token} ({name}) allows 0.0.0.0/0 on {port}"
    user = rng.choice(("ci-deployer", "terraform", "backup-agent", "reporting", "alice", "jenkins"))
    # A key is found once it is 90 days old, and is open from then on.
    return f"AKIA{token.upper()}", f"{user}: access key AKIA{token.upper()[:8]}... is {90 + days_open} days old"


def history(runs: int, *, now: dt.datetime, seed: int = 14) -> list[RunSummary]:
    """``runs`` daily run summaries ending yesterday, oldest first: one plugin shrinking, one
    growing, one flat with noise."""
    rng = random.Random(seed)
    summaries = []
    levels = {"iam_key_age": 40.0, "open_security_groups": 120.0, "unattached_ebs": 30.0}
    trend = {"iam_key_age": 0.0, "open_security_groups": -2.5, "unattached_ebs": 1.8}
    for n in range(1, runs + 1):
        counts = {}
        for plugin in PLUGINS:
            new, resolved = rng.randint(0, 6), rng.randint(0, 6)
            levels[plugin] = max(0.0, levels[plugin] + trend[plugin] + new - resolved)
            counts[plugin] = PluginCounts(open=round(levels[plugin]), new=new, resolved=resolved)
        summaries.append(RunSummary(f"run-{n:04d}", n, iso(now - dt.timedelta(days=runs + 1 - n)), 12, counts))
    return summaries

