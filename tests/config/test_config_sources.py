"""Config from a file, S3 and SSM, and the per-account view of it."""
from __future__ import annotations

import sys
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "faults"))
from proxy import FaultProxy  # noqa: E402

from collector_core.cli import main  # noqa: E402
from collector_core.config.errors import ConfigError  # noqa: E402
from collector_core.config.load import load_config  # noqa: E402
from collector_core.plugins import load_plugins  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
table: findings
regions: [eu-west-1]
accounts:
  - {id: "111111111111", name: prod}
  - {id: 222222222222, name: unquoted}
mute:
  - {plugin: open_security_groups, resource: "sg-0abc*", reason: reviewed, expires: 2027-03-31}
"""


def test_file_s3_and_ssm_give_the_same_config(mocked_aws: None, tmp_path: Path) -> None:
    registry = load_plugins()
    path = tmp_path / "config.yaml"
    path.write_text(GOOD)
    boto3.client("s3").create_bucket(Bucket="cfg")
    boto3.client("s3").put_object(Bucket="cfg", Key="a/config.yaml", Body=GOOD.encode())
    boto3.client("ssm").put_parameter(Name="/collector/config", Value=GOOD, Type="SecureString")
    configs = [load_config(src, registry)
               for src in (str(path), "s3://cfg/a/config.yaml", "ssm:/collector/config")]
    assert {tuple(a.id for a in c.accounts) for c in configs} == {("111111111111", "222222222222")}
    assert {c.table for c in configs} == {"findings"}
    assert str(configs[0].mute[0].expires) == "2027-03-31"


def test_unreadable_sources_name_the_source(mocked_aws: None, tmp_path: Path) -> None:
    registry = load_plugins()
    with pytest.raises(ConfigError, match=r"^/nonexistent/c.yaml: no such file$"):
        load_config("/nonexistent/c.yaml", registry)
    with pytest.raises(ConfigError, match=r"^ssm:/missing: cannot read it: ParameterNotFound"):
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


class _ServerlessLoader(yaml.SafeLoader):
    """serverless.yml as plain data: CloudFormation's short tags (!Sub, !GetAtt...) read as None."""


_ServerlessLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_deployed_default_config_location_can_be_created_and_read(
    server_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """serverless.yml's default config is an SSM parameter that AWS (here moto) lets the user put,
    under the prefix the functions may read, and the CLI reads the config from it."""
    params = yaml.load((ROOT / "serverless.yml").read_text(), Loader=_ServerlessLoader)["params"]["default"]
    name = params["config"].removeprefix("ssm:")
    assert name.startswith(f"/{params['secretsPrefix']}/")  # inside the functions' ssm:GetParameter grant
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=name, Value=GOOD, Type="SecureString")

    assert main(["iam-policy", "--config", params["config"]]) == 0
    assert "ec2:DescribeVolumes" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["/aws-collector/config", "/AWS/config", "ssm-config", "/Ssm.x/config"])
def test_a_reserved_ssm_name_is_refused_with_the_reason_before_any_aws_call(
    name: str, moto_reset: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(botocore.exceptions.ClientError):  # AWS (and moto) refuse to create it
        boto3.client("ssm", endpoint_url=moto_reset).put_parameter(Name=name, Value=GOOD, Type="SecureString")
    with FaultProxy(moto_reset) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        assert main(["iam-policy", "--config", f"ssm:{name}"]) == 2
        assert proxy.count() == 0
    err = capsys.readouterr().err
    assert f"ssm:{name}: SSM reserves parameter names that begin with 'aws' or 'ssm'" in err
    assert "use a name such as ssm:/collector/config" in err
