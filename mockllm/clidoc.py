"""docs/cli.md, generated from the argparse parser (``tests/test_clidoc.py`` checks that the
file matches). Regenerate with ``python -m mockllm.clidoc > docs/cli.md``."""

from __future__ import annotations

import argparse
import os

from mockllm.cli import parser
from mockllm.settings import LISTS, SERVE

_INTRO = """\
# Command line reference

Generated from the parser by `python -m mockllm.clidoc` (a test checks that this page is
current). `python -m mockllm` works the same as `mockllm`.

## Where `serve` options come from

The command line beats the environment, which beats the config file (where it has a key
for the option: `plugins.use`, `plugins.disable`, `plugins.load`), which beats the default.
Every `serve` option has an environment variable, which is how a container is configured.
`mockllm serve` prints the options the environment gave at start-up.

| option | variable | default |
|---|---|---|
"""

_LISTS = """
The repeatable options take comma-separated lists from their variables. `--disable-plugin`
and `-p` add up across the layers (the config's `plugins.disable` and `plugins.load` too).
For `--use` every layer may name a key, and per key the command line wins over
`MOCKLLM_USE`, which wins over the config's `plugins.use`. `MOCKLLM_DISABLE_PLUGIN_AUTOLOAD=1`
skips installed plugins (entry points).

At start-up `mockllm serve` prints the URL it listens on, the config file in use (or
"embedded default"), the options taken from the environment, the start-up overrides and the
blocked plugins, and a warning for each builtin that an installed plugin replaced. A
successful hot reload of the config file is logged (`mockllm: INFO: reloaded FILE`). Errors
are one line (`mockllm: error: ...`, exit status 2), never a traceback.
"""


def _subparsers(ap: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in ap._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render() -> str:
    # argparse wraps help to the terminal's width: fix it, so the page is the same anywhere.
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        ap = parser()
        rows = []
        for s in SERVE:
            flag = "--" + s.dest.replace("_", "-")
            default = s.shown or ("the embedded config" if s.default is None
                                  else f"`{s.default}`")
            rows.append(f"| `{flag}` | `{s.env}` | {default} |")
        for dest, env in LISTS.items():
            flag = {"modules": "-p", "use": "--use"}.get(dest, "--" + dest.replace("_", "-"))
            rows.append(f"| `{flag}` (repeatable) | `{env}` | none |")
        parts = [_INTRO + "\n".join(rows) + "\n" + _LISTS, "## `mockllm`\n",
                 "```\n" + ap.format_help() + "```\n"]
        for name, sub in _subparsers(ap).items():
            parts.append(f"## `mockllm {name}`\n")
            parts.append("```\n" + sub.format_help() + "```\n")
        return "\n".join(parts)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


if __name__ == "__main__":
    print(render(), end="")
