"""docs/cli.md is the parser's own help, so it cannot drift from the command line."""

from __future__ import annotations

from pathlib import Path

from mockllm.cli import parser
from mockllm.clidoc import _subparsers, render

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_docs_cli_md_is_generated_from_the_parser() -> None:
    assert CLI_MD.read_text() == render(), (
        "docs/cli.md is stale: python -m mockllm.clidoc > docs/cli.md")


def test_every_subcommand_and_option_is_on_the_page() -> None:
    text = CLI_MD.read_text()
    for name, sub in _subparsers(parser()).items():
        assert f"## `mockllm {name}`" in text
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in text, (name, flag)
