"""Bad input: each malformed config stops `aws-collector run` with exit 2, a message naming the
file and the key, and not one AWS call; each malformed Lambda event gets a clear error."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from proxy import FaultProxy  # noqa: E402

from collector_core import handlers  # noqa: E402
from collector_core.runtime.events import EventError  # noqa: E402
from collector_core.testing import fake_aws_environment  # noqa: E402

GOOD = 'table: bad-config-test\nregions: [us-east-1]\naccounts:\n  - {id: "111111111111", name: prod}\n'
SECRET = "s3cr3t-value-never-echoed"


@dataclass(frozen=True)
class Case:
    text: str | bytes | None  # None: the path does not exist; "DIR": the path is a directory
    says: tuple[str, ...]  # fragments the message must contain (the key, and what was wrong)
    secret: str | None = None  # a value the message must not repeat


def _with(extra: str) -> str:
    return GOOD + extra


CASES: dict[str, Case] = {
    "empty file": Case("", ("the file is empty",)),
    "only a comment": Case("# nothing here\n", ("the file is empty",)),
    "not YAML": Case("accounts: [unclosed\n  - x: {\n", ("not valid YAML at line",)),
    "a list at the top": Case("- 111111111111\n", ("expected a mapping of settings at the top level",)),
    "unknown top-level key": Case(_with("acounts: []\n"), ("acounts: unknown key 'acounts'",)),
    "ttl_days a string": Case(_with("ttl_days: seven\n"), ("ttl_days: expected whole days",)),
    "ttl_days zero": Case(_with("ttl_days: 0\n"), ("ttl_days: expected whole days",)),
    "table name too short": Case("table: x\n" + GOOD.split("\n", 1)[1],
                                 ("table: expected a DynamoDB table name",)),
    "role name with spaces": Case(_with("role_name: read only role\n"),
                                  ("role_name: expected an IAM role name",)),
    "account id too short": Case("accounts:\n  - {id: '12345'}\n",
                                 ("accounts[0].id: expected a 12-digit account id",)),
    "account id with a letter": Case("accounts:\n  - {id: '11111111111a'}\n", ("accounts[0].id",)),
    "accounts not a list": Case("accounts: {id: '111111111111'}\n",
                                ("accounts: expected a list of accounts",)),
    "duplicate accounts": Case(_with('  - {id: "111111111111", name: again}\n'),
                               ("accounts[1].id: duplicate account id '111111111111'",)),
    "unknown account key": Case("accounts:\n  - {id: '111111111111', nmae: prod}\n",
                                ("accounts[0].nmae: unknown key",)),
    "nothing to run": Case("table: bad-config-test\n", ("accounts: expected at least one account",)),
    "unknown plugin": Case(_with("plugins: {no_such_plugin: {}}\n"),
                           ("plugins.no_such_plugin: unknown plugin",)),
    "unknown plugin in an account": Case(
        "accounts:\n  - {id: '111111111111', plugins: {ebs_typo: {enabled: false}}}\n",
        ("accounts[0].plugins.ebs_typo: unknown plugin",)),
    "unknown plugin option": Case(_with("plugins: {iam_key_age: {max_age: 30}}\n"),
                                  ("plugins.iam_key_age.max_age: unknown key",)),
    "option of the wrong type": Case(_with("plugins: {iam_key_age: {max_age_days: ninety}}\n"),
                                     ("plugins.iam_key_age.max_age_days: expected a whole number",)),
    "list option with a bad item": Case(_with("plugins: {open_security_groups: {allowed_ports: [http]}}\n"),
                                        ("plugins.open_security_groups.allowed_ports[0]",)),
    "enabled not a boolean": Case(_with("plugins: {unattached_ebs: {enabled: maybe}}\n"),
                                  ("plugins.unattached_ebs.enabled: expected true or false",)),
    "regions a bad word": Case("regions: everywhere\n" + GOOD.split("\n", 2)[2], ("regions: expected",)),
    "unknown region": Case("regions: [mars-north-1]\n" + GOOD.split("\n", 2)[2], ("regions[0]",)),
    "organization.enabled a string": Case("organization: {enabled: 'yes'}\n", ("organization.enabled",)),
    "mute without a reason": Case(_with("mute: [{plugin: unattached_ebs}]\n"),
                                  ("mute[0]: 'reason' is required",)),
    "external id malformed": Case(_with(f"external_id: '{SECRET} with spaces'\n"), ("external_id",), SECRET),
    "webhook not a URL": Case(_with(f"notify: {{slack: {{webhook_url: '{SECRET}'}}}}\n"),
                              ("notify.slack.webhook_url",), SECRET),
    "huge file": Case(GOOD + "# " + "x" * (1024 * 1024) + "\n", ("a config is at most 1 MiB",)),
    "not UTF-8": Case(b"accounts: [\xff\xfe]\n", ("not UTF-8",)),
    "deeply nested": Case("accounts: " + "[" * 5000 + "]" * 5000 + "\n", ("not valid YAML",)),
    "no such file": Case(None, ("no such file",)),
    "a directory": Case("DIR", ("is a directory",)),
}


@dataclass
class Outcome:
    path: str
    code: int
    stdout: str
    stderr: str


def _command() -> list[str]:
    script = Path(sys.executable).with_name("aws-collector")
    return [str(script)] if script.exists() else [shutil.which("aws-collector") or "aws-collector"]


@pytest.fixture(scope="module")
def outcomes(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Outcome], int]]:
    """Run every case as `aws-collector run --config F` at once, all against one counting proxy."""
    folder = tmp_path_factory.mktemp("configs")
    paths: dict[str, Path] = {}
    for i, (name, case) in enumerate(CASES.items()):
        path = folder / f"case{i:02d}.yaml"
        if case.text == "DIR":
            path.mkdir()
        elif isinstance(case.text, bytes):
            path.write_bytes(case.text)
        elif case.text is not None:
            path.write_text(case.text)
        paths[name] = path
    with FaultProxy(moto_endpoint) as proxy, pytest.MonkeyPatch.context() as fake:
        fake_aws_environment(fake)  # a module's fixture: the suite's per-test environment is not set yet
        env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url}

        def run(name: str) -> Outcome:
            done = subprocess.run([*_command(), "run", "--config", str(paths[name])], env=env,
                                  capture_output=True, text=True, timeout=120)
            return Outcome(str(paths[name]), done.returncode, done.stdout, done.stderr)

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(zip(CASES, pool.map(run, CASES), strict=True))
        yield results, proxy.count()


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_config_is_refused_clearly_before_anything_runs(
    name: str, outcomes: tuple[dict[str, Outcome], int]
) -> None:
    results, aws_calls = outcomes
    outcome, case = results[name], CASES[name]
    assert outcome.code == 2, outcome
    assert outcome.stdout == ""
    assert outcome.path in outcome.stderr, outcome.stderr
    for fragment in case.says:
        assert fragment in outcome.stderr, outcome.stderr
    assert "Traceback" not in outcome.stderr
    if case.secret:
        assert case.secret not in outcome.stderr, outcome.stderr
    assert aws_calls == 0, "a bad config reached AWS"


def test_a_good_config_does_reach_aws(moto_reset: str, tmp_path: Path) -> None:
    """The control: the same command and proxy with a valid config writes to the table."""
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    with FaultProxy(moto_reset) as proxy:
        env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url, "AWS_DEFAULT_REGION": "us-east-1"}
        done = subprocess.run([*_command(), "run", "--config", str(path), "--timeout", "30"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        assert proxy.count(service="dynamodb", operation="PutItem") >= 1


class _Context:
    aws_request_id = "bad-event"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


GOOD_EVENT: dict[str, Any] = {
    "run_id": "r1", "run_seq": 1, "account": {"id": "111111111111", "name": "prod"}, "regions": ["us-east-1"],
    "collectors": {"unattached_ebs": {}}, "table": "t-events", "role_name": "aws-collector-readonly",
}
BAD_EVENTS: dict[str, tuple[Any, str]] = {
    "not an object": (["run_id"], "expected a JSON object, got list"),
    "nothing": (None, "expected a JSON object, got NoneType"),
    "missing run_id": ({k: v for k, v in GOOD_EVENT.items() if k != "run_id"}, "missing run_id"),
    "bad account id": ({**GOOD_EVENT, "account": {"id": "12"}}, "account must be"),
    "regions empty": ({**GOOD_EVENT, "regions": []}, "regions must be"),
    "collectors a list": ({**GOOD_EVENT, "collectors": ["unattached_ebs"]}, "collectors must map"),
    "ttl_days a string": ({**GOOD_EVENT, "ttl_days": "7"}, "ttl_days must be"),
    "unknown field": ({**GOOD_EVENT, "extra": 1}, "unknown fields ['extra']"),
    "table empty": ({**GOOD_EVENT, "table": ""}, "table must be a non-empty string"),
    "collector not installed": ({**GOOD_EVENT, "collectors": {"nope": {}}},
                                "collectors not installed in this function: nope"),
}


@pytest.mark.parametrize("name", list(BAD_EVENTS))
def test_a_malformed_worker_event_is_refused_clearly(name: str, moto_reset: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the Lambda worker handler; none of these may reach AWS."""
    event, says = BAD_EVENTS[name]
    with FaultProxy(moto_reset) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        with pytest.raises(EventError, match="^worker event: ") as raised:
            handlers.worker(event, _Context())
        assert says in str(raised.value)
        assert proxy.count() == 0


def test_malformed_director_and_notifier_events_are_refused() -> None:
    with pytest.raises(EventError, match="director event: expected a JSON object"):
        handlers.director("go", _Context())
    with pytest.raises(EventError, match="notifier event: run_seq must be a positive whole number"):
        handlers.notifier({"run_seq": "7"}, _Context())
