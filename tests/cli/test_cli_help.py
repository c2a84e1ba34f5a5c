"""What a new user reads first: `aws-collector --version` and `aws-collector --help`."""
from __future__ import annotations

import pytest

from collector_core import PLUGIN_API_VERSION, __version__
from collector_core.cli import main, parser


def output_of(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What the command prints before it exits 0 (argparse exits after --help and --version)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_version_prints_the_release_and_the_plugin_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert output_of("--version", capsys=capsys) == f"aws-collector {__version__} (plugin API {PLUGIN_API_VERSION})\n"


def listed_commands(help_text: str) -> dict[str, str]:
    """The commands `--help` lists under "commands:", with the purpose it gives each."""
    listing = help_text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    commands: dict[str, str] = {}
    name = ""
    for line in listing.splitlines()[1:]:  # the first line is the COMMAND placeholder
        first, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and not line.startswith("     "):
            name = first
            commands[name] = rest.strip()
        else:  # a purpose wrapped onto the next line
            commands[name] += " " + line.strip()
    return commands


def test_help_opens_with_what_the_tool_does_for_a_user(capsys: pytest.CaptureFixture[str]) -> None:
    text = output_of("--help", capsys=capsys)

    opening = text.split("\n\n")[1]
    assert opening.startswith("aws-collector finds what is wrong across all your AWS accounts")
    assert opening.count(".") == 1, "the opening is one sentence"
    assert "examples:\n  aws-collector demo " in text
    assert "Exit codes: 0 all well" in text


def test_help_lists_every_command_with_its_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    commands = listed_commands(output_of("--help", capsys=capsys))

    assert set(commands) >= {"run", "findings", "notify", "plugins", "iam-policy", "demo"}
    assert all(len(purpose.split()) >= 5 for purpose in commands.values()), commands


@pytest.mark.parametrize("command", sorted(listed_commands(parser().format_help())))
def test_each_command_says_what_it_is_for_and_shows_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    purpose = listed_commands(output_of("--help", capsys=capsys))[command]

    text = output_of(command, "--help", capsys=capsys)

    assert purpose[:1].upper() + purpose[1:] + "." in " ".join(text.split())
    examples = text.split("\nexamples:\n", 1)[1]
    assert examples.lstrip().startswith(f"aws-collector {command}")
