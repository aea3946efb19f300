"""Config: ruamel.yaml -> msgspec-validated structs, with file:line and key path in errors.

The shape (DESIGN.md §7) is fixed; docs/config.md documents every key. Parsing happens at
start-up and on reload only, never per request.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from mockllm.engine.schema import Defaults, ModelConfig, Rule

DEFAULT_CONFIG_NAME = "default_config.yaml"


class ConfigError(ValueError):
    """One or more config problems, each ``file:line: key.path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class PluginsConfig(msgspec.Struct, forbid_unknown_fields=True):
    use: dict[str, str] = {}
    disable: list[str] = []
    load: list[str] = []


class ServerConfig(msgspec.Struct, forbid_unknown_fields=True):
    #: Bodies past this size get 413 in the provider's envelope.
    max_body_bytes: int = 32 * 1024 * 1024
    #: API keys accepted (``Authorization: Bearer`` or ``x-api-key``); empty means no auth.
    api_keys: list[str] = []
    #: Refuse unknown request fields with 400 "Unrecognized request argument".
    strict: bool = False
    #: Honour the ``x-mockllm-*`` per-request control headers.
    control_headers: bool = True
    #: Token required for the admin API from a non-loopback client (empty: loopback only).
    admin_token: str = ""


class Config(msgspec.Struct, forbid_unknown_fields=True):
    models: list[ModelConfig] = []
    defaults: Defaults = msgspec.field(default_factory=Defaults)
    rules: list[Rule] = []
    plugins: PluginsConfig = msgspec.field(default_factory=PluginsConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    #: Where it came from (set by the loader, not by users).
    source: str = "<embedded default>"


def default_config_text() -> str:
    return importlib.resources.files("mockllm").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")


def load_default() -> Config:
    return parse(default_config_text(), "<embedded default>")


def load_file(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    return parse(text, str(p))


def parse(text: str, filename: str) -> Config:
    """Parse and validate a config; raises :class:`ConfigError` with every problem found."""
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError([f"{filename}:{line}: {exc.problem}"]) from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise ConfigError([f"{filename}:1: the top level must be a mapping"])
    try:
        config = msgspec.convert(_plain(doc), Config, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError([_locate(str(exc), doc, filename)]) from None
    config.source = filename
    problems = [f"{filename}:{_line(doc, path)}: {path}: {msg}" for path, msg in check(config)]
    if problems:
        raise ConfigError(problems)
    return config


def check(config: Config) -> list[tuple[str, str]]:
    """Semantic checks msgspec cannot express; returns (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for i, model in enumerate(config.models):
        for name in (model.id, *model.aliases):
            if name in seen:
                problems.append((f"models[{i}].id", f"{name!r} is already used by {seen[name]}"))
            seen[name] = f"models[{i}]"
    for i, rule in enumerate(config.rules):
        problems.extend((f"rules[{i}].{p}", m) for p, m in rule.problems())
    return problems


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


_PATH = re.compile(r" - at `\$(.*)`$")
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _locate(message: str, doc: Any, filename: str) -> str:
    m = _PATH.search(message)
    path = m.group(1).lstrip(".") if m else ""
    what = message[: m.start()] if m else message
    if what.startswith("Object contains unknown field"):
        field = what.split("`")[1]
        path = f"{path}.{field}" if path else field
        what = "unknown key"
    return f"{filename}:{_line(doc, path)}: {path or '(top level)'}: {what}"


def _line(doc: Any, path: str) -> int:
    """The 1-based line of ``path`` (``rules[3].match.model``) in a ruamel document."""
    node, line = doc, 1
    for key, index in _PART.findall("." + path if path and path[0] != "[" else path):
        try:
            if key and isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif index and isinstance(node, CommentedSeq) and int(index) < len(node):
                line = node.lc.item(int(index))[0] + 1
                node = node[int(index)]
            else:
                break
        except (KeyError, TypeError, AttributeError):
            break
    return line
