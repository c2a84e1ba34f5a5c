"""The s3 channel: a run's open findings as gzip JSON Lines (or OCSF) in moto's S3 over HTTP, read
back and queried as a table with DuckDB's read_json, Hive partitions and all, as Athena would; the
table's columns are the ones `aws-collector athena-ddl` prints."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from notify_helpers import NOW, PROD, SANDBOX, account_run, channels, config_with, finding, run_record, table_with
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from collector_core.aws.clients import Clients
from collector_core.channel import ChannelContext
from collector_core.cli import main
from collector_core.notify import export, s3
from collector_core.notify.channels import notify
from collector_core.notify.report import Entry, PluginSection, Report
from collector_core.plugins import load_plugins

pytestmark = pytest.mark.slow
BUCKET, PREFIX = "findings-lake", "lake/findings/"
EBS, SG, IAM = "unattached_ebs", "open_security_groups", "iam_key_age"
MUTE = {"plugin": SG, "account": PROD.id, "resource": "sg-bastion", "reason": "public bastion, reviewed"}
LATER = NOW.replace(year=2100)  # findings written "now" by the real clock would have expired


def history() -> list[Any]:
    started = NOW - dt.timedelta(hours=1)
    records: list[Any] = [run_record("r1", [PROD, SANDBOX], started=started),
                          account_run(PROD, "r1", [("us-east-1", EBS), ("us-east-1", SG), ("global", IAM)]),
                          account_run(SANDBOX, "r1", [("eu-west-1", EBS)])]
    records += [finding(PROD if i % 2 else SANDBOX, "us-east-1" if i % 2 else "eu-west-1", EBS, f"vol-{i:03d}",
                        run="r1", details={"size_gib": i, "type": "gp3"}, now=LATER) for i in range(30)]
    records += [finding(PROD, "us-east-1", SG, name, run="r1", severity="high", now=LATER)
                for name in ("sg-open", "sg-bastion")]
    records.append(finding(PROD, "global", IAM, "AKIAOLD", run="r1", details={"user": "ci", "age_days": 400},
                           now=LATER))
    return records


def hive_to_duckdb(kind: str) -> str:
    """An Athena (Hive) column type as DuckDB writes it: the same table, read by another engine."""
    parsed, rest = _hive(kind)
    assert rest == "", kind
    return parsed


SCALARS = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN", "double": "DOUBLE"}


def _hive(text: str) -> tuple[str, str]:
    """(DuckDB type, what follows it) of the Hive type ``text`` begins with."""
    if text.startswith("array<"):
        inner, rest = _hive(text[len("array<"):])
        return f"{inner}[]", rest[1:]  # past its ">"
    if text.startswith("struct<"):
        fields, rest = [], text[len("struct<"):]
        while not rest.startswith(">"):
            name, _, rest = rest.partition(":")
            kind, rest = _hive(rest)
            fields.append(f'"{name}" {kind}')
            rest = rest.removeprefix(",")
        return f"STRUCT({', '.join(fields)})", rest[1:]
    name = re.match(r"[a-z]+", text)
    assert name, text
    return SCALARS[name.group()], text[name.end():]


def table(tmp_path: Path, format: str) -> duckdb.DuckDBPyRelation:
    """Every object under the prefix, fetched from moto's S3, as one DuckDB table with its partitions."""
    s3_client = boto3.client("s3", region_name="us-east-1")
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]]
    for key in keys:
        target = tmp_path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3_client.download_file(BUCKET, key, str(target))
    columns = {name: hive_to_duckdb(kind) for name, kind, _ in export.table_columns(format)}
    hive = {name: hive_to_duckdb(kind) for name, kind, _ in export.PARTITIONS}
    connection = duckdb.connect()
    return connection.read_json(str(tmp_path / PREFIX / "**" / "*.json.gz"), format="newline_delimited",
                                columns=columns, hive_partitioning=True, hive_types=hive)


def lake(server_env: str, format: str = "jsonl") -> Any:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    store = table_with(history())
    settings = channels(s3={"bucket": BUCKET, "prefix": PREFIX, "format": format})
    return notify(settings, mutes=config_with(mute=[MUTE]).mute, registry=load_plugins(), store=store,
                  clients=Clients(), now=LATER)


def test_the_runs_open_findings_land_as_a_partitioned_table(server_env: str, tmp_path: Path) -> None:
    result = lake(server_env)

    assert result.ok and result.sent == ["s3"]
    s3_client = boto3.client("s3", region_name="us-east-1")
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=BUCKET)["Contents"])
    where = f"{PREFIX}dt={(NOW - dt.timedelta(hours=1)).date()}/run=1/"
    assert keys == [f"{where}{p}-00001.json.gz" for p in (IAM, SG, EBS)]
    for key in keys:
        assert s3_client.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"

    findings = table(tmp_path, "jsonl")
    by_plugin = dict(findings.aggregate("plugin, count(*)", "plugin").fetchall())
    assert by_plugin == {EBS: 30, SG: 2, IAM: 1}  # the muted one too, marked
    assert findings.aggregate("min(dt), max(dt), min(run), max(run)").fetchall()[0] == (
        str((NOW - dt.timedelta(hours=1)).date()), str((NOW - dt.timedelta(hours=1)).date()), 1, 1)
    muted = findings.filter("muted IS NOT NULL").project("resource_id, muted").fetchall()
    assert muted == [("sg-bastion", "public bastion, reviewed")]
    size = findings.filter("resource_id = 'vol-007'").project("json_extract(details, '$.size_gib')::INT").fetchall()
    assert size == [(7,)]
    key = "111111111111/global/iam_key_age/AKIAOLD"
    assert findings.filter(f"finding_key = '{key}'").aggregate("count(*)").fetchall() == [(1,)]


def test_every_row_holds_exactly_the_tables_columns(server_env: str) -> None:
    lake(server_env)
    s3_client = boto3.client("s3", region_name="us-east-1")
    names = [name for name, _, _ in export.table_columns("jsonl")]
    for listed in s3_client.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = gzip.decompress(s3_client.get_object(Bucket=BUCKET, Key=listed["Key"])["Body"].read())
        for line in body.decode().splitlines():
            assert list(json.loads(line)) == names


def test_ocsf_rows_are_detection_findings_and_read_as_the_ocsf_table(server_env: str, tmp_path: Path) -> None:
    assert lake(server_env, format="ocsf").ok

    findings = table(tmp_path, "ocsf")
    assert findings.aggregate("count(*)").fetchall() == [(33,)]
    rows = findings.filter("finding_info.uid = '111111111111/global/iam_key_age/AKIAOLD'").project(
        "class_uid, severity, cloud.account.uid, list_extract(resources, 1).type, run").fetchall()
    assert rows == [(2004, "Medium", PROD.id, "AwsIamAccessKey", 1)]
    s3_client = boto3.client("s3", region_name="us-east-1")
    key = next(o["Key"] for o in s3_client.list_objects_v2(Bucket=BUCKET)["Contents"] if IAM in o["Key"])
    (line,) = gzip.decompress(s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode().splitlines()
    event = json.loads(line)
    assert DetectionFinding.model_validate(event).model_dump(mode="json", exclude_unset=True) == event
    assert event["resources"][0]["data"] == {"user": "ci", "age_days": 400}


def test_athena_ddl_prints_the_table_the_channel_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"accounts: [{{id: '{PROD.id}'}}]\nnotify: {{s3: {{bucket: {BUCKET}, prefix: {PREFIX}, "
                      "format: ocsf}}\n")

    assert main(["athena-ddl", "--config", str(config), "--table", "security.findings"]) == 0

    ddl = capsys.readouterr().out
    assert ddl == export.athena_ddl(bucket=BUCKET, prefix=PREFIX, format="ocsf", table="`security`.`findings`")
    assert f"LOCATION 's3://{BUCKET}/{PREFIX}';" in ddl
    assert "PARTITIONED BY (`dt` string" in ddl and "`run` int" in ddl
    for name, kind, _ in export.table_columns("ocsf"):
        assert f"  `{name}` {kind} COMMENT" in ddl
    assert main(["athena-ddl", "--bucket", BUCKET, "--table", "x; DROP TABLE y"]) == 2


def test_the_table_in_the_docs_is_the_one_athena_ddl_prints() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "outputs.md").read_text()
    assert export.athena_ddl(bucket="my-findings-lake", prefix="aws-collector/findings/") in docs


def test_objects_hold_at_most_the_rows_asked_for(mocked_aws: None) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    report = synthetic_report(2_500)

    s3.send(report, s3.S3Settings(bucket=BUCKET, prefix=PREFIX, max_findings_per_object=1_000),
            ChannelContext(where="notify.s3", clients=Clients()))

    s3_client = boto3.client("s3", region_name="us-east-1")
    counts = {}
    for listed in s3_client.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = gzip.decompress(s3_client.get_object(Bucket=BUCKET, Key=listed["Key"])["Body"].read())
        counts[listed["Key"].rsplit("/", 1)[1]] = len(body.splitlines())
    assert counts == {f"{EBS}-00001.json.gz": 1_000, f"{EBS}-00002.json.gz": 1_000, f"{EBS}-00003.json.gz": 500}


def synthetic_report(count: int) -> Report:
    """A report of ``count`` open findings of one plugin (its entries past a few hundred on disk)."""
    section = PluginSection(EBS)
    for i in range(count):
        section.add_open(Entry(plugin=EBS, account_id=PROD.id, account_name="prod", region="us-east-1",
                               resource_id=f"vol-{i:06d}", severity="low", line=f"volume {i}",
                               first_seen="2025-06-01T00:00:00Z", last_seen="2025-06-02T00:00:00Z",
                               summary=f"volume {i} is unattached", details={"size_gib": i % 500, "type": "gp3"}))
    return Report(generated=NOW, run_id="r1", run_seq=1, accounts=1, sections=[section])


class CountingS3:
    """An S3 client that reads each body to its end, as an upload would, and keeps nothing."""

    def __init__(self) -> None:
        self.rows = 0

    def put_object(self, **request: Any) -> None:
        with gzip.GzipFile(fileobj=request["Body"]) as body:
            self.rows += sum(1 for _ in body)


class Context(ChannelContext):
    __slots__ = ("s3",)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.s3


def peak_bytes(count: int) -> tuple[int, int]:
    """(rows written, the most memory Python held while writing them) for a report of ``count``."""
    report = synthetic_report(count)
    ctx = Context(where="notify.s3")
    ctx.s3 = CountingS3()
    tracemalloc.start()
    try:
        s3.send(report, s3.S3Settings(bucket=BUCKET, max_findings_per_object=5_000), ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return ctx.s3.rows, peak


def test_memory_stays_flat_in_the_number_of_findings() -> None:
    small, small_peak = peak_bytes(2_000)
    large, large_peak = peak_bytes(20_000)

    assert (small, large) == (2_000, 20_000)
    # Ten times the findings; the memory follows one object's rows at most (here 5,000), not all of them.
    assert large_peak < 3 * small_peak, (small_peak, large_peak)
