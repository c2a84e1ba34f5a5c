"""Where a config is kept, and how big it may be there: `put-config` over moto's server stores a
valid config in SSM (the tier its size needs) or S3, and refuses, writing nothing, a config too big
for SSM (with the advice to use S3) or one the functions could not run."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from collector_core.cli import main
from collector_core.config.load import load_config
from collector_core.config.sources import SSM_ADVANCED_BYTES, SSM_STANDARD_BYTES
from collector_core.plugins import load_plugins

pytestmark = pytest.mark.slow


def config_of(tmp_path: Path, accounts: int) -> Path:
    """A config listing ``accounts`` accounts (about 45 bytes each), as a large organization's does."""
    path = tmp_path / "config.yaml"
    path.write_text("table: aws-collector-findings\nregions: all\naccounts:\n"
                    + "".join(f'  - {{id: "{100000000000 + i}", name: account-{i:03d}}}\n' for i in range(accounts)))
    return path


@pytest.mark.parametrize("accounts, tier", [(20, "standard"), (120, "advanced")])
def test_a_config_goes_to_ssm_in_the_tier_its_size_needs(server_env: str, tmp_path: Path, accounts: int, tier: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = config_of(tmp_path, accounts)
    size = len(path.read_bytes())
    assert (size <= SSM_STANDARD_BYTES) == (tier == "standard") and size <= SSM_ADVANCED_BYTES

    assert main(["put-config", "--config", str(path), "--to", "ssm:/collector/config"]) == 0

    assert f"a SecureString, {tier} tier" in capsys.readouterr().out
    stored = boto3.client("ssm").get_parameter(Name="/collector/config", WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString" and stored["Value"] == path.read_text()
    assert len(load_config("ssm:/collector/config", load_plugins()).accounts) == accounts  # as the functions read it


def test_a_config_too_big_for_ssm_is_refused_with_the_advice_to_use_s3(server_env: str, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = config_of(tmp_path, 200)  # the 9 KB of a 200-account organization

    assert main(["put-config", "--config", str(path), "--to", "ssm:/collector/config"]) == 2

    said = capsys.readouterr().err
    assert f"is {len(path.read_bytes()):,} bytes: over SSM's limit for a parameter (4,096 bytes in the standard " \
           "tier, 8,192 in the advanced tier); keep it in S3 instead" in said
    with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
        boto3.client("ssm").get_parameter(Name="/collector/config")

    boto3.client("s3").create_bucket(Bucket="configs")
    assert main(["put-config", "--config", str(path), "--to", "s3://configs/aws-collector/config.yaml"]) == 0
    assert 'deploy with --param="config=s3://configs/aws-collector/config.yaml"' in capsys.readouterr().out
    assert len(load_config("s3://configs/aws-collector/config.yaml", load_plugins()).accounts) == 200


@pytest.mark.parametrize("text, where, says", [
    ("accounts: [{id: '1234'}]\n", "ssm:/collector/config", "accounts[0].id"),
    ("accounts: [{id: '111111111111'}]\n", "ssm:/aws-collector/config", "SSM reserves parameter names"),
    ("accounts: [{id: '111111111111'}]\n", "config.yaml", "expected ssm:/parameter/name or s3://bucket/key"),
])
def test_nothing_is_written_for_a_config_the_functions_could_not_read(
        server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str, says: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)

    assert main(["put-config", "--config", str(path), "--to", where]) == 2

    assert says in capsys.readouterr().err
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
