"""Config from a file, S3 and SSM, and the per-account view of it."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from collector_core.config.errors import ConfigError
from collector_core.config.load import load_config
from collector_core.plugins import load_plugins

GOOD = """
table: findings
regions: [eu-west-1]
accounts:
  - {id: "111111111111", name: prod}
  - {id: 222222222222, name: unquoted}
mute:
  - {plugin: open_security_groups, resource: "sg-0abc*", reason: reviewed, expires: 2027-03-31}
"""


def test_file_s3_and_ssm_give_the_same_config(tmp_path: Path) -> None:
    registry = load_plugins()
    path = tmp_path / "config.yaml"
    path.write_text(GOOD)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="cfg")
        boto3.client("s3").put_object(Bucket="cfg", Key="a/config.yaml", Body=GOOD.encode())
        boto3.client("ssm").put_parameter(Name="/collector/config", Value=GOOD, Type="SecureString")
        configs = [load_config(src, registry)
                   for src in (str(path), "s3://cfg/a/config.yaml", "ssm:/collector/config")]
    assert {tuple(a.id for a in c.accounts) for c in configs} == {("111111111111", "222222222222")}
    assert {c.table for c in configs} == {"findings"}
    assert str(configs[0].mute[0].expires) == "2027-03-31"


def test_unreadable_sources_name_the_source(tmp_path: Path) -> None:
    registry = load_plugins()
    with pytest.raises(ConfigError, match=r"^/nonexistent/c.yaml: no such file$"):
        load_config("/nonexistent/c.yaml", registry)
    with mock_aws(), pytest.raises(ConfigError, match=r"^ssm:/missing: cannot read it: ParameterNotFound"):
        load_config("ssm:/missing", registry)


def test_every_problem_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text('accounts: [{id: "1", name: a}]\nregions: [us-east-1, moon-1]\nttl_days: 0\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(path), load_plugins())
    lines = str(err.value).splitlines()
    assert lines == [
        f"{path}: accounts[0].id: expected a 12-digit account id in quotes, got the string '1'",
        f"{path}: regions[1]: expected an AWS region name such as eu-west-1, got the string 'moon-1'",
        f"{path}: ttl_days: expected whole days, 1 to 3650, got the number 0",
    ]
