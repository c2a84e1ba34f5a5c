"""What a route's match means: every criterion given must match, any glob of a list may, a unit
covers the units below it, a tag must be on the resource with a matching value."""
from __future__ import annotations

import pytest

from collector_core.notify.channels import route_link
from collector_core.notify.routes import Match, glob_problems

FINDING = {"plugin": "unattached_ebs", "account_id": "111111111111", "severity": "medium",
           "tags": {"team": "payments", "env": "prod"}}


@pytest.mark.parametrize(("match", "account", "ou", "covered"), [
    (Match(), "111111111111", None, True),
    (Match(accounts=("1111*", "2222*")), "222211111111", None, True),
    (Match(accounts=("1111*",)), "222211111111", "Root", False),
    (Match(ous=("Root/Workloads",)), "1", "Root/Workloads/Payments", True),  # the units below too
    (Match(ous=("Root/Workloads",)), "1", "Root/WorkloadsOld", False),
    (Match(ous=("Root/*/Payments",)), "1", "Root/Workloads/Payments", True),
    (Match(ous=("Root",)), "1", None, False),  # no unit known (accounts from the config's list)
    (Match(accounts=("1*",), ous=("Root/Sandbox",)), "1", "Root/Workloads", False),  # all must match
])
def test_accounts_and_units(match: Match, account: str, ou: str | None, covered: bool) -> None:
    assert match.covers_account(account, ou) is covered


@pytest.mark.parametrize(("match", "matched"), [
    (Match(), True),
    (Match(tags={"team": "pay*"}), True),
    (Match(tags={"team": "pay*", "env": "prod"}), True),
    (Match(tags={"team": "pay*", "env": "dev"}), False),  # every tag must match
    (Match(tags={"owner": "*"}), False),  # the key must be there
    (Match(plugins=("open_*", "unattached_*")), True),
    (Match(plugins=("iam_*",)), False),
    (Match(min_severity="medium"), True),
    (Match(min_severity="high"), False),
])
def test_findings(match: Match, matched: bool) -> None:
    assert match.covers(FINDING) is matched


def test_only_an_unclosed_bracket_is_a_bad_glob() -> None:
    assert glob_problems("sg-[0-9]*") == [] == glob_problems("*") == glob_problems("a]b")
    assert glob_problems("sg-[0-9") and glob_problems("[x][")


def test_a_route_opens_the_page_on_its_findings_keeping_a_signed_query_intact() -> None:
    assert route_link("https://example.com/report.html", "pay ments") == "https://example.com/report.html?route=pay%20ments"
    assert route_link("https://b.s3.amazonaws.com/r.html?X-Amz-Signature=abc", "payments") == \
        "https://b.s3.amazonaws.com/r.html?X-Amz-Signature=abc#route=payments"
    assert route_link(None, "payments") is None
