"""`doctor`'s checks, in the order a run needs them: the table, the accounts (listed as a run lists
them), each account (doctor.accounts), and the report's channels. Each problem is named; nothing
is written anywhere, and no message is sent (a Slack webhook is asked with an empty message, which
Slack refuses without posting)."""
from __future__ import annotations

import email.utils
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.aws.clients import Clients, home_region
from collector_core.channel import ChannelContext
from collector_core.doctor.accounts import AccountCheck, MemberRole, Problem, check_account, unproven_summary
from collector_core.errors import describe, error_of
from collector_core.iam_policy import PolicyError, member_actions
from collector_core.notify import slack
from collector_core.plugins import Registry
from collector_core.runtime.director import resolve_accounts
from collector_core.runtime.planning import plan_accounts
from collector_core.store import Store, TableError

if TYPE_CHECKING:
    from collector_core.config.model import Config

#: Accounts checked at once (each a handful of calls).
ACCOUNTS_AT_ONCE = 8
#: Answers by which a Slack webhook says it exists and read the (empty) message it was sent.
SLACK_ALIVE = (200, 400)


@dataclass
class Diagnosis:
    """What doctor found: the problems, and a line per thing found well."""

    problems: list[Problem] = field(default_factory=list)
    well: list[str] = field(default_factory=list)


class UnknownAccount(ValueError):
    """An --account the config does not run."""


def diagnose(config: Config, registry: Registry, clients: Clients, *, accounts: Sequence[str] = ()) -> Diagnosis:
    """Every check, for every account the config runs (or the ``accounts`` named)."""
    found = Diagnosis()
    _table(config, clients, found)
    try:
        listed = resolve_accounts(config, clients)
    except Exception as exc:  # Organizations refusing or unreachable: no account can be checked
        found.problems.append(Problem("organization", "accounts", f"cannot list the accounts: {describe(exc)}"))
        listed = []
    else:
        unknown = sorted(set(accounts) - {a.id for a in listed})
        if unknown:
            raise UnknownAccount(f"--account {unknown[0]}: not an account this config runs")
    chosen = [a for a in listed if not accounts or a.id in accounts]
    try:
        actions: frozenset[str] | None = frozenset(member_actions(config, registry))
    except PolicyError as exc:
        found.problems.append(Problem("config", "iam-policy", str(exc).splitlines()[0]))
        actions = None
    role = MemberRole(config.role_name, config.external_id, actions)
    plans = plan_accounts(config, registry, chosen)
    with ThreadPoolExecutor(ACCOUNTS_AT_ONCE, thread_name_prefix="doctor") as pool:
        checks: list[AccountCheck] = list(pool.map(lambda plan: check_account(plan, role, registry, clients), plans))
    for check in checks:
        found.problems += check.problems
    if checks:
        proven = sum(c.proven for c in checks)
        clean = len(checks) - len({p.where for c in checks for p in c.problems})
        found.well.append(f"{len(checks)} account{'s' if len(checks) != 1 else ''} checked ({clean} without a "
                          f"problem), {proven} permissions proven by a call")
        unproven = unproven_summary(checks)
        if unproven:
            found.well.append(f"not provable by a call (the member role's drift check covers them): "
                              f"{', '.join(unproven)}")
    _channels(config, clients, found)
    return found


def _table(config: Config, clients: Clients, found: Diagnosis) -> None:
    try:
        Store.open(config.table, clients).check_table()
    except TableError as exc:
        found.problems.append(Problem("table", config.table, str(exc)))
    except (ClientError, BotoCoreError) as exc:
        why = describe(exc)
        if error_of(exc)[0] == "ResourceNotFoundException":
            why = (f"no such table in {home_region()}: deploy the stack (serverless.yml creates it), or run "
                   "`aws-collector run` once, which creates it")
        found.problems.append(Problem("table", config.table, why))
    else:
        found.well.append(f"table {config.table}: reachable, keys pk and sk")


def _channels(config: Config, clients: Clients, found: Diagnosis) -> None:
    for use in config.notify.channels:
        if use.name == "slack":
            problem = _slack(use.settings, ChannelContext(where=use.where, clients=clients))
            if problem:
                found.problems.append(problem)
            else:
                found.well.append(f"{use.where}: the webhook answered")
        elif use.name == "email":
            sender, region = use.settings.sender, use.settings.region or home_region()
            problem = _ses_identity(sender, region, clients)
            if problem:
                found.problems.append(problem)
            else:
                found.well.append(f"{use.where}: {sender} may send through SES")


def _slack(settings: slack.SlackSettings, ctx: ChannelContext) -> Problem | None:
    """None when the webhook answers as a live one does to an empty message (which it does not post)."""
    try:
        url = slack.webhook_url(settings, ctx)
    except (slack.SlackError, ClientError, BotoCoreError) as exc:
        return Problem("notify.slack", "webhook", f"cannot read the webhook URL: {describe(exc)}")
    host = urllib.parse.urlsplit(url).hostname or "?"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, said = response.status, ""
    except urllib.error.HTTPError as exc:
        status, said = exc.code, exc.read(200).decode("utf-8", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Problem("notify.slack", "webhook", f"cannot reach the webhook at {host}: "
                                                  f"{getattr(exc, 'reason', type(exc).__name__)}")
    if status in SLACK_ALIVE:
        return None
    said = said.replace(urllib.parse.urlsplit(url).path, "…") if said else ""
    return Problem("notify.slack", "webhook", f"the webhook at {host} answered HTTP {status}"
                                              f"{': ' + said if said else ''} (removed, or its channel archived?)")


def _ses_identity(sender: str, region: str, clients: Clients) -> Problem | None:
    """None when SES in ``region`` has verified the sender's address or its domain."""
    address = email.utils.parseaddr(sender)[1] or sender
    identities = [address, address.rpartition("@")[2]]
    try:
        verified = clients.client("ses", region).get_identity_verification_attributes(
            Identities=identities)["VerificationAttributes"]
    except (ClientError, BotoCoreError) as exc:
        return Problem("notify.email", f"identity {address}", f"cannot ask SES in {region}: {describe(exc)}")
    if any(verified.get(i, {}).get("VerificationStatus") == "Success" for i in identities):
        return None
    return Problem("notify.email", f"identity {address}",
                   f"neither {identities[0]} nor {identities[1]} is verified in SES in {region}: verify one "
                   "(the stack's sesIdentity must name it too)")
