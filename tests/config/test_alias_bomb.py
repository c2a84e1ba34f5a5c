"""A YAML alias bomb (a few hundred bytes naming billions of values) is refused in a fraction of a
second and a bounded amount of memory, whether the config is a file, an S3 object or an SSM
parameter; and anchors used as intended still work."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from collector_core.config.load import load_config
from collector_core.plugins import load_plugins

pytestmark = pytest.mark.slow  # each case starts the CLI in a fresh interpreter
MEMORY_LIMIT = 1 << 30  # bytes of address space the CLI may map while refusing the bomb


def alias_bomb() -> str:
    """Nine nested levels of nine aliases each under mute[].resource: 9**9 strings once expanded."""
    levels = ["      - &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"      - &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("table: bomb-test\naccounts: [{id: '111111111111', name: prod}]\n"
            "mute:\n  - plugin: unattached_ebs\n    reason: an alias bomb\n    resource:\n"
            + "\n".join(levels) + "\n")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("where", ["file", "s3", "ssm"])
def test_an_alias_bomb_is_refused_within_seconds_in_bounded_memory(where: str, moto_reset: str,
                                                                    tmp_path: Path) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) < 1024
    if where == "file":
        source = str(tmp_path / "bomb.yaml")
        Path(source).write_text(bomb)
    elif where == "s3":
        s3 = boto3.client("s3", endpoint_url=moto_reset)
        s3.create_bucket(Bucket="configs")
        s3.put_object(Bucket="configs", Key="bomb.yaml", Body=bomb.encode())
        source = "s3://configs/bomb.yaml"
    else:
        boto3.client("ssm", endpoint_url=moto_reset).put_parameter(
            Name="/collector/bomb", Value=bomb, Type="SecureString")
        source = "ssm:/collector/bomb"
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_reset}

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "collector_core.cli", "run", "--config", source], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory)
    seconds = time.monotonic() - started

    assert done.returncode == 2, done.stderr[-2000:]
    assert seconds < 10
    assert f"{source}: line " in done.stderr
    assert "YAML aliases repeat more than 1,048,576 values and characters" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr) < 1000


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from collector_core.cli import main

    path = tmp_path / "loop.yaml"
    path.write_text("accounts: &a [{id: '111111111111', name: *a}]\n")
    assert main(["run", "--config", str(path)]) == 2
    assert f"{path}: line 1: the alias *a is inside its own anchor" in capsys.readouterr().err


def test_anchors_and_merge_keys_used_as_intended_still_load() -> None:
    text = ("accounts:\n"
            "  - {id: '111111111111', plugins: {iam_key_age: &strict {enabled: true, max_age_days: 30}}}\n"
            "  - {id: '222222222222', plugins: {iam_key_age: *strict}}\n"
            "  - {id: '333333333333', plugins: {iam_key_age: {<<: *strict, max_age_days: 60}}}\n")
    config = load_config("anchors.yaml", load_plugins(), text=text)
    assert [a.plugins["iam_key_age"]["max_age_days"] for a in config.accounts] == [30, 30, 60]
