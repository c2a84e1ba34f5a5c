"""The Security Hub channel: the report's open findings imported in the AWS Security Finding
Format, and the findings it says were resolved archived, under the default product of the
collector's own account (notify/asff.py maps each one).

Open findings go in with BatchImportFindings, at most 100 a call; a re-import has the same Id, so
Security Hub updates the finding rather than adding one. A resolved finding is imported again as
ARCHIVED (a finding provider's own field), then marked RESOLVED with BatchUpdateFindings, since
BatchImportFindings may not change the workflow of a finding that exists. Findings Security Hub
does not take are retried twice, then reported, by count and error code, as the channel's
failure. Muted findings are left out, as in every channel.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector_core.aws.clients import home_region
from collector_core.channel import Channel, ChannelContext, ChannelError
from collector_core.documents.schema import Schema, mapping, region
from collector_core.hookspecs import hookimpl
from collector_core.notify.asff import Product, asff_finding, finding_id
from collector_core.notify.report import Entry, EntryList, PluginSection, Report

MAX_BATCH = 100  # findings per BatchImportFindings or BatchUpdateFindings call
#: Seconds to wait before each retry of the findings Security Hub did not take.
RETRY_DELAYS = (1.0, 4.0)
#: One request over a batch: what it failed, by finding Id, as (error code, message).
Call = Callable[[list[dict[str, Any]]], dict[str, tuple[str, str]]]


def schema() -> Schema:
    """The ``notify.securityhub`` section."""
    return mapping({"region": region()}, "a mapping with an optional region (default: the home region)")


@dataclass(frozen=True)
class SecurityHubSettings:
    """Which region's Security Hub the findings go to (default: the runtime's home region)."""

    region: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SecurityHubSettings:
        """The validated section."""
        return cls(region=doc.get("region"))


class SecurityHubError(ChannelError):
    """Findings Security Hub did not take, after retries; the message counts them by error code."""


@dataclass
class _Outcome:
    """What one kind of request did to the findings it was given."""

    what: str  # "import", "archive" or "resolve"
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # error code -> findings
    failed_ids: set[str] = field(default_factory=set)
    example: str = ""  # the first failure, with its finding's Id

    def describe(self) -> str:
        """``2 of 250 findings failed to import after 3 attempts (InvalidInput x2; first: ...)``."""
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(self.failed.items()))
        return (f"{len(self.failed_ids)} of {self.sent} findings failed to {self.what} after "
                f"{1 + len(RETRY_DELAYS)} attempts ({codes}; first: {self.example})")


def send(report: Report, settings: SecurityHubSettings, ctx: ChannelContext) -> None:
    """Import the open findings and archive the resolved ones; SecurityHubError if some failed."""
    where = settings.region or home_region()
    hub = ctx.client("securityhub", where)
    account = ctx.client("sts", where).get_caller_identity()["Account"]
    product = Product(account, where, ctx.partition(where))
    types = {name: collector.resource_type for name, collector in ctx.collectors.items()}

    def asff(entry: Entry, archived_at: dt.datetime | None = None) -> dict[str, Any]:
        return asff_finding(entry, product, resource_type=types.get(entry.plugin, ""), archived_at=archived_at)

    def entries(kind: Callable[[PluginSection], EntryList]) -> Iterator[Entry]:
        return (entry for section in report.sections for entry in kind(section))

    def import_findings(pending: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        answer = hub.batch_import_findings(Findings=pending)
        return {f["Id"]: (f.get("ErrorCode", "Unknown"), f.get("ErrorMessage", ""))
                for f in answer.get("FailedFindings", [])}

    def resolve_findings(pending: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        answer = hub.batch_update_findings(FindingIdentifiers=pending, Workflow={"Status": "RESOLVED"})
        return {f["FindingIdentifier"]["Id"]: (f.get("ErrorCode", "Unknown"), f.get("ErrorMessage", ""))
                for f in answer.get("UnprocessedFindings", [])}

    imported = _send((asff(e) for e in entries(lambda s: s.open)), import_findings, "import", ctx.sleep)
    archived = _send((asff(e, report.generated) for e in entries(lambda s: s.resolved)), import_findings, "archive",
                     ctx.sleep)
    identifiers = ({"Id": finding_id(e), "ProductArn": product.arn} for e in entries(lambda s: s.resolved))
    resolved = _send((i for i in identifiers if i["Id"] not in archived.failed_ids), resolve_findings, "resolve",
                     ctx.sleep)
    ctx.log.info("securityhub_sent", product=product.arn, imported=imported.sent,
                                           archived=archived.sent, failed=len(imported.failed_ids)
                                           + len(archived.failed_ids) + len(resolved.failed_ids))
    failures = [o.describe() for o in (imported, archived, resolved) if o.failed_ids]
    if failures:
        raise SecurityHubError("; ".join(failures))


def _send(items: Iterable[dict[str, Any]], call: Call, what: str, sleep: Callable[[float], None]) -> _Outcome:
    """``call`` on batches of at most 100, resending what it failed after each delay."""
    outcome = _Outcome(what)
    for batch in _batches(items):
        outcome.sent += len(batch)
        pending, failed = batch, {}
        for delay in (0.0, *RETRY_DELAYS):
            if delay:
                sleep(delay)
            failed = call(pending)
            pending = [f for f in pending if f["Id"] in failed]
            if not pending:
                break
        for finding in pending:
            code, message = failed[finding["Id"]]
            outcome.failed[code] += 1
            outcome.failed_ids.add(finding["Id"])
            outcome.example = outcome.example or f"{finding['Id']}: {message}"[:300]
    return outcome


def _batches(items: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, MAX_BATCH)):
        yield batch


CHANNEL = Channel(
    name="securityhub",
    summary="open findings imported into AWS Security Hub, resolved ones archived",
    send=send,
    schema=schema(),
    settings=SecurityHubSettings.from_doc,
    # exactly the calls above (sts:GetCallerIdentity needs no permission); tests/test_iam_policies.py keeps them
    permissions=("securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Security Hub, registered through the same hook as a community channel."""
    register(CHANNEL)
