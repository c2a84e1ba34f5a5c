"""What a new user reads first: `aws-collector --version` and `aws-collector --help`."""
from __future__ import annotations

from importlib import metadata

import pytest

from collector_core import PLUGIN_API_VERSION, __version__
from collector_core.cli import main


def output_of(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What the command prints before it exits 0 (argparse exits after --help and --version)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_version_prints_the_release_and_the_plugin_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert output_of("--version", capsys=capsys) == f"aws-collector {__version__} (plugin API {PLUGIN_API_VERSION})\n"


def test_the_version_is_written_once_and_the_installed_metadata_carries_it() -> None:
    # setup.cfg reads collector_core.__version__; an install that predates a bump would disagree.
    assert metadata.version("aws-collector") == __version__
