"""`osls package` offline: the zip keeps the plugins' entry points, and the stack passes the linters."""
from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from collector_core.metrics import heartbeat
from collector_core.runtime.invokers import Relay
from collector_core.store import Store
from collector_core.store.layout import LAYOUT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

PLACEHOLDERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                "RoleName": "aws-collector-readonly"}


def built_in_entry_points() -> dict[str, str]:
    """The aws_collector.plugins entry points setup.cfg declares."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["aws_collector.plugins"].strip().splitlines()
    return dict(line.replace(" ", "").split("=", 1) for line in lines)


def test_package_keeps_entry_point_metadata(packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "aws-collector.zip") as zf:
        names = zf.namelist()
        entry_files = [n for n in names if re.fullmatch(r"aws_collector-[^/]+\.dist-info/entry_points\.txt", n)]
        assert len(entry_files) == 1, f"the project's .dist-info is missing from the package: {entry_files}"
        entry_points = configparser.ConfigParser()
        entry_points.read_string(zf.read(entry_files[0]).decode())
    packaged_plugins = {k: v.replace(" ", "") for k, v in entry_points["aws_collector.plugins"].items()}
    assert packaged_plugins == built_in_entry_points()
    for module in packaged_plugins.values():
        assert module.replace(".", "/") + ".py" in names, f"{module} is declared but not packaged"
    assert "collector_core/handlers.py" in names
    # Only what the functions need: no bytecode, no test suites, nothing else from this repository.
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "/tests/" in n]
    assert not [n for n in names if n.startswith(("tests/", "plugins/", "benchmarks/", "docs/", "node_modules/"))]


def test_stack_passes_cfn_lint(packaged: Path) -> None:
    template = packaged / "cloudformation-template-update-stack.json"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # the deploy extra pins it
    proc = subprocess.run([str(cfn_lint), str(template), str(DEPLOY / "member-role.yaml"),
                           str(DEPLOY / "member-role-stackset.yaml"), str(DEPLOY / "management-account.yaml")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_policy_passes_parliament(stack_template: dict[str, Any]) -> None:
    from parliament import analyze_policy_string

    role = stack_template["Resources"]["IamRoleLambdaExecution"]["Properties"]
    # Every permissions policy; trust policies are not identity policies and cfn-lint checks them.
    documents = [resolve(p["PolicyDocument"]) for p in role["Policies"]]
    documents += [resolve(p["PolicyDocument"]) for p in member_role_properties()["Policies"]]
    assert len(documents) == 2
    for document in documents:
        findings = analyze_policy_string(json.dumps(document)).findings
        assert not findings, [(f.issue, f.detail, f.location) for f in findings]


def test_execution_role_is_least_privilege(stack_template: dict[str, Any]) -> None:
    statements = {
        s.get("Sid"): s
        for p in stack_template["Resources"]["IamRoleLambdaExecution"]["Properties"]["Policies"]
        for s in resolve(p["PolicyDocument"])["Statement"]
    }
    invoke = statements["InvokeFunctions"]["Resource"]
    assert sorted(r.rsplit(":", 1)[1] for r in invoke) == [
        "aws-collector-ci-director", "aws-collector-ci-notifier", "aws-collector-ci-worker"]
    assert statements["AssumeMemberRole"]["Resource"] == "arn:aws:iam::*:role/aws-collector-readonly"
    assert sorted(statements["FindingsTable"]["Action"]) == sorted(
        f"dynamodb:{a}" for a in ("DescribeTable", "DescribeTimeToLive", "PutItem", "UpdateItem", "GetItem",
                                  "BatchGetItem", "Query"))
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if "*" in a], statement
        if statement["Resource"] == "*":  # only what takes no resource at all
            assert actions == ["organizations:DescribeOrganization", "organizations:ListRoots"], statement


def test_worker_retries_and_failure_destination(stack_template: dict[str, Any]) -> None:
    resources = stack_template["Resources"]
    config = resources["WorkerLambdaEvConf"]["Properties"]
    assert config["MaximumRetryAttempts"] == 1 and config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    assert resources["FailedInvocationsQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    worker = resources["WorkerLambdaFunction"]["Properties"]
    assert worker["Runtime"] == "python3.12" and worker["Timeout"] >= 600
    assert worker["Environment"]["Variables"]["NOTIFIER_FUNCTION"] == "aws-collector-ci-notifier"
    director = resources["DirectorLambdaFunction"]["Properties"]
    assert director["MemorySize"] == 1024  # its fan-out is CPU-bound (docs/deploy.md)
    assert director["FunctionName"] == "aws-collector-ci-director"  # what it relays to, and may invoke
    assert director["Environment"]["Variables"]["WORKER_FUNCTION"] == "aws-collector-ci-worker"
    assert director["Environment"]["Variables"]["DIRECTOR_FUNCTION"] == "aws-collector-ci-director"
    # The same defaults as the code's.
    assert director["Environment"]["Variables"]["DIRECTOR_RELAY_ABOVE"] == str(Relay.above)
    assert director["Environment"]["Variables"]["DIRECTOR_RELAY_BATCH"] == str(Relay.batch)
    assert resources["DirectorEventsRuleSchedule1"]["Properties"]["ScheduleExpression"] == "cron(0 6 * * ? *)"


def test_a_lost_worker_and_a_silent_run_still_end_in_a_report(stack_template: dict[str, Any]) -> None:
    """The failed-invocations queue has a consumer, and the notifier's schedule sweeps runs past their deadline."""
    resources = stack_template["Resources"]
    mapping = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Fn::GetAtt": ["FailedInvocationsLambdaFunction", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    consumer = resources["FailedInvocationsLambdaFunction"]["Properties"]
    assert consumer["Handler"] == "collector_core/handlers.failed_invocations"
    assert consumer["Environment"]["Variables"]["NOTIFIER_FUNCTION"] == "aws-collector-ci-notifier"
    queue = resources["FailedInvocationsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["UnrecordedInvocationsQueue", "Arn"]}
    sweep = resources["NotifierEventsRuleSchedule1"]["Properties"]
    assert sweep["ScheduleExpression"] == "rate(15 minutes)"
    assert json.loads(sweep["Targets"][0]["Input"]) == {"sweep": True}
    # A run is closed only once a worker event could no longer arrive: an hour in Lambda's queue,
    # then two attempts of the worker's timeout.
    worker = resources["WorkerLambdaFunction"]["Properties"]
    director = resources["DirectorLambdaFunction"]["Properties"]["Environment"]["Variables"]
    deadline = int(director["RUN_DEADLINE_SECONDS"])
    assert deadline >= resources["WorkerLambdaEvConf"]["Properties"]["MaximumEventAgeInSeconds"] + 2 * worker["Timeout"]
    for name in ("DirectorLambdaFunction", "WorkerLambdaFunction", "NotifierLambdaFunction"):
        config = resources[name.replace("LambdaFunction", "LambdaEvConf")]["Properties"]
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}


def test_table_matches_ensure_table(stack_template: dict[str, Any]) -> None:
    table = stack_template["Resources"]["FindingsTable"]["Properties"]
    created = RecordingDynamoDB()
    Store("aws-collector-findings", created).ensure_table()
    assert table["KeySchema"] == created.table["KeySchema"]
    assert table["AttributeDefinitions"] == created.table["AttributeDefinitions"]
    assert table["BillingMode"] == created.table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": created.ttl["AttributeName"], "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert [item["layout"] for item in created.items] == [{"S": LAYOUT}]  # a new table says which layout it holds


class RecordingDynamoDB:
    """Just enough of a DynamoDB client for ensure_table, remembering what it asked for."""

    def __init__(self) -> None:
        self.table: dict[str, Any] = {}
        self.ttl: dict[str, Any] = {}
        self.items: list[dict[str, Any]] = []

    def describe_table(self, **_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")

    def describe_time_to_live(self, **_: Any) -> dict[str, Any]:
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    def create_table(self, **kwargs: Any) -> None:
        self.table = kwargs

    def get_waiter(self, _: str) -> Any:
        class Waiter:
            def wait(self, **__: Any) -> None:
                return None

        return Waiter()

    def update_time_to_live(self, **kwargs: Any) -> None:
        self.ttl = kwargs["TimeToLiveSpecification"]

    def get_item(self, **_: Any) -> dict[str, Any]:  # a new table holds nothing, its layout record included
        return {}

    def put_item(self, **kwargs: Any) -> None:  # the layout record a new table is claimed with
        self.items.append(kwargs["Item"])


def member_role_properties() -> dict[str, Any]:
    import yaml

    template = yaml.safe_load((DEPLOY / "member-role.yaml").read_text())
    return template["Resources"]["CollectorReadOnlyRole"]["Properties"]


def resolve(value: Any) -> Any:
    """CloudFormation intrinsics replaced by example values, so a linter sees plain ARNs."""
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: PLACEHOLDERS[m.group(1)], value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            kind = {"FindingsTable": "dynamodb:us-east-1:123456789012:table/",
                    "FailedInvocationsQueue": "sqs:us-east-1:123456789012:",
                    "UnrecordedInvocationsQueue": "sqs:us-east-1:123456789012:"}[value["Fn::GetAtt"][0]]
            return f"arn:aws:{kind}{value['Fn::GetAtt'][0]}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(resolve(p) for p in parts)
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def test_html_reports_get_their_prefix_only_and_only_when_the_channel_is_set(stack_template: dict[str, Any]) -> None:
    # Deployed without --param=htmlBucket=..., the bucket is empty: the condition is false and the
    # policy is not created.
    assert stack_template["Parameters"]["HtmlBucket"]["Default"] == ""
    assert stack_template["Parameters"]["HtmlPrefix"]["Default"] == "aws-collector/"
    assert stack_template["Conditions"]["HtmlReports"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "HtmlBucket"}, ""]}]}
    policy = stack_template["Resources"]["HtmlReportsPolicy"]
    assert policy["Condition"] == "HtmlReports"
    assert policy["Properties"]["Roles"] == [{"Ref": "IamRoleLambdaExecution"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["s3:PutObject", "s3:GetObject"]  # upload; and what a presigned GET needs
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${HtmlBucket}/${HtmlPrefix}*"}


def test_alarms_are_loud_when_a_run_never_happens(stack_template: dict[str, Any]) -> None:
    resources = stack_template["Resources"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"NoRunCompletedAlarm", "RunNotStartedAlarm", "ReportFailedAlarm", "DirectorErrorsAlarm",
                           "FailedInvocationsBacklogAlarm", "UnrecordedInvocationsAlarm", "ThrottlesAlarm"}
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in alarms.values())
    functions = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    deployment = {f["Environment"]["Variables"]["AWS_COLLECTOR_DEPLOYMENT"] for f in functions.values()}
    assert deployment == {"aws-collector-ci"}
    assert {f["Environment"]["Variables"]["AWS_COLLECTOR_TABLE"] for f in functions.values()} == {
        resources["FindingsTable"]["Properties"]["TableName"]}

    # The heartbeat the notifier writes (collector_core/metrics/heartbeat.py), its absence breaching.
    no_run = alarms["NoRunCompletedAlarm"]
    assert (no_run["Namespace"], no_run["MetricName"]) == (heartbeat.NAMESPACE, heartbeat.RUNS_COMPLETED)
    assert no_run["Dimensions"] == [{"Name": "Deployment", "Value": "aws-collector-ci"}]
    assert (no_run["Statistic"], no_run["Threshold"], no_run["ComparisonOperator"]) == ("Sum", 1, "LessThanThreshold")
    assert no_run["TreatMissingData"] == "breaching" and no_run["Period"] == 3600
    assert no_run["EvaluationPeriods"] == no_run["DatapointsToAlarm"] == {"Ref": "AlarmAfterHours"}
    hours = stack_template["Parameters"]["AlarmAfterHours"]
    assert int(hours["Default"]) == 26 and int(hours["MaxValue"]) * no_run["Period"] <= 7 * 86400
    for name, metric in (("RunNotStartedAlarm", heartbeat.RUNS_NOT_STARTED), ("ReportFailedAlarm",
                                                                            heartbeat.REPORT_FAILURES)):
        assert (alarms[name]["Namespace"], alarms[name]["MetricName"]) == (heartbeat.NAMESPACE, metric)
        assert alarms[name]["Dimensions"] == no_run["Dimensions"]

    # What Lambda and SQS say, for the deployed functions and queues by name.
    director = alarms["DirectorErrorsAlarm"]
    assert (director["Namespace"], director["MetricName"]) == ("AWS/Lambda", "Errors")
    assert director["Dimensions"] == [{"Name": "FunctionName",
                                       "Value": functions["DirectorLambdaFunction"]["FunctionName"]}]
    throttled = {d["Value"] for m in alarms["ThrottlesAlarm"]["Metrics"] if "MetricStat" in m
                 for d in m["MetricStat"]["Metric"]["Dimensions"]}
    assert throttled == {f["FunctionName"] for f in functions.values()}  # every function
    queues = {a["Dimensions"][0]["Value"] for n, a in alarms.items() if a.get("Namespace") == "AWS/SQS"}
    assert queues == {resources[q]["Properties"]["QueueName"]
                      for q in ("FailedInvocationsQueue", "UnrecordedInvocationsQueue")}

    # Email to the address given at deploy time, if one is.
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "AlarmEmailSet" and stack_template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}


def test_the_organization_role_is_assumable_only_when_named(stack_template: dict[str, Any]) -> None:
    policy = stack_template["Resources"]["OrganizationRolePolicy"]
    assert policy["Condition"] == "OrganizationRole"
    assert stack_template["Parameters"]["OrganizationRoleArn"]["Default"] == ""
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("sts:AssumeRole", {"Ref": "OrganizationRoleArn"})


def test_a_config_in_s3_is_readable_without_iam_of_ones_own(stack_template: dict[str, Any]) -> None:
    """A config too big for SSM goes to S3 (put-config says so): config=s3://bucket/key grants exactly that object."""
    assert stack_template["Parameters"]["Config"]["Default"] == "ssm:/collector/config"
    split = {"Fn::Split": ["s3://", {"Ref": "Config"}]}
    assert stack_template["Conditions"]["ConfigInS3"] == {"Fn::Equals": [{"Fn::Select": [0, split]}, ""]}
    policy = stack_template["Resources"]["ConfigObjectPolicy"]
    assert policy["Condition"] == "ConfigInS3"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == {"Fn::Sub": ["arn:${AWS::Partition}:s3:::${Object}",
                                                 {"Object": {"Fn::Select": [1, split]}}]}
