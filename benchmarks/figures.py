"""Figures computed from a worker's call log: its critical path, and API calls per collector."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from aws_collector_plugins.iam_key_age import REPORT_POLL_DELAYS

Call = Sequence[Any]  # (thread, service, operation, start, end)

#: Which collector a hand-written script's call belongs to (the script has no scans to count).
SCRIPT_OPERATIONS = {
    "DescribeVolumes": "unattached_ebs",
    "DescribeSecurityGroups": "open_security_groups",
    "ListUsers": "iam_key_age",
    "ListAccessKeys": "iam_key_age",
    "GenerateCredentialReport": "iam_key_age",
    "GetCredentialReport": "iam_key_age",
    "GetAccessKeyLastUsed": "iam_key_age",
    "ListUserTags": "iam_key_age",
}
#: A worker must at least write its last findings, then its run record and its done mark.
TAIL_CALLS = 3


def critical_path(calls: Iterable[Call], per_call: float) -> tuple[float, str]:
    """The shortest wall a worker could have: assume-role, the longest chain, the last writes.

    A chain is one scan (a collector in a region, or a global one): its calls one after another,
    plus the waits its collector must make (the credential report's first poll delay). ``per_call`` is one
    unloaded round trip measured in the same run. Returns (seconds, which chain is longest).
    """
    per_thread: Counter[str] = Counter()
    report_polls: Counter[str] = Counter()
    assume = 0
    for thread, _service, operation, *_ in calls:
        if operation == "AssumeRole":
            assume += 1
        elif thread.startswith("scan-"):  # a scan's thread (runtime/worker.py names it for its scan)
            per_thread[thread] += 1
            if operation == "GenerateCredentialReport":
                report_polls[thread] += 1

    def chain(thread: str) -> float:
        waits = sum(REPORT_POLL_DELAYS[: max(0, report_polls[thread] - 1)])
        return per_thread[thread] * per_call + waits

    slowest = max(per_thread, key=chain, default="")
    longest = chain(slowest) if slowest else 0.0
    return (max(assume, 1) + TAIL_CALLS) * per_call + longest, slowest.split("-", 1)[-1]


def calls_per_place(result: dict[str, Any], regional: Iterable[str]) -> dict[str, float]:
    """API calls per account-region for regional collectors, per account for global ones."""
    totals: Counter[str] = Counter()
    places: dict[str, set[str]] = {}
    for region, plugin, _findings, api_calls, *_ in result["scans"]:  # AccountResult.to_dict()'s rows
        totals[plugin] += api_calls
        places.setdefault(plugin, set()).add(region)
    regional = set(regional)
    return {p: totals[p] / (len(places[p]) if p in regional else 1) for p in sorted(totals)}


def script_calls_per_place(calls: Iterable[Call], regions: int, regional: Iterable[str]) -> dict[str, float]:
    """The hand-written script's calls, grouped the same way."""
    totals: Counter[str] = Counter()
    for _thread, _service, operation, *_ in calls:
        if operation in SCRIPT_OPERATIONS:
            totals[SCRIPT_OPERATIONS[operation]] += 1
    regional = set(regional)
    return {p: totals[p] / (regions if p in regional else 1) for p in sorted(totals)}


def write_calls(calls: Iterable[Call]) -> Counter[str]:
    """DynamoDB calls by operation (the writes and the reads they need)."""
    return Counter(op for _t, service, op, *_ in calls if service == "dynamodb")
