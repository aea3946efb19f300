"""Config: ruamel.yaml -> msgspec-validated structs, with file:line and key path in errors.

The shape is fixed; docs/config.md documents every key. Parsing happens at
start-up and on reload only, never per request.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from mockllm import yamlguard
from mockllm.config_error import ConfigError, Problem
from mockllm.config_schema import (
    EMBEDDED,
    YAML_DEPTH,
    Config,
    Limits,
    Memory,
    PluginsConfig,
    ServerConfig,
    locate,
)
from mockllm.engine.quotas import check_quota
from mockllm.engine.schema import Rule
from mockllm.settings import HTTP_SERVERS

__all__ = ["EMBEDDED", "YAML_DEPTH", "Config", "ConfigError", "Limits", "PluginsConfig",
           "Problem", "ServerConfig", "locate"]

DEFAULT_CONFIG_NAME = "default_config.yaml"


def default_config_text() -> str:
    return importlib.resources.files("mockllm").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")


def load_default() -> Config:
    return parse(default_config_text(), EMBEDDED)


def load_file(path: str | Path, max_depth: int = YAML_DEPTH) -> Config:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    return parse(text, str(p), max_depth)


def parse(text: str, filename: str, max_depth: int = YAML_DEPTH) -> Config:
    """Parse and validate a config; raises :class:`ConfigError` with every problem found.

    ``max_depth`` bounds the nesting, checked before parsing (``server.limits.yaml_depth``
    of the running config on a reload; the default at start-up).
    """
    doc = _load_yaml(text, filename, max_depth)
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise ConfigError([f"{filename}:1: the top level must be a mapping"])
    plain = _plain_doc(doc, filename, len(text))
    for key in ("source", "lines"):
        if key in plain:
            raise ConfigError([f"{filename}:{_line(doc, key)}: {key}: unknown key"])
    lift_extensions(plain)
    try:
        config = msgspec.convert(plain, Config, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError([_locate(str(exc), doc, filename)]) from None
    config.source = filename
    config.lines = line_index(doc)
    if "models" not in doc and filename != EMBEDDED:
        # A file of rules alone still answers the well-known model ids.
        config.models = load_default().models
    found = check(config)
    problems = [Problem(f"{filename}:{_line(doc, path)}", path, msg) for path, msg in found]
    if not problems:
        problems = _latency_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def lift_extensions(plain: Any) -> None:
    """Move the dotted keys of every ``match`` / ``respond`` (plugin matchers and
    responders, ``acme.sentiment``) into its ``extensions`` mapping, where the structs keep
    them. Builtin keys never contain a dot, so nothing else moves."""
    if not isinstance(plain, dict):
        return
    for rule in plain.get("rules") or ():
        lift_rule(rule)
    defaults = plain.get("defaults")
    if isinstance(defaults, dict):
        _lift_respond(defaults.get("respond"))


def lift_rule(rule: Any) -> None:
    if isinstance(rule, dict):
        _lift(rule.get("match"))
        _lift_respond(rule.get("respond"))


def _lift_respond(respond: Any) -> None:
    _lift(respond)
    if isinstance(respond, dict) and isinstance(respond.get("sequence"), list):
        for item in respond["sequence"]:
            _lift(item)


def _lift(block: Any) -> None:
    if not isinstance(block, dict):
        return
    dotted = [k for k in block if "." in k]
    if not dotted:
        return
    ext = block.get("extensions")
    if not isinstance(ext, dict):
        ext = block["extensions"] = {}
    for key in dotted:
        ext[key] = block.pop(key)


def line_index(doc: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Key path -> 1-based line of every mapping key and list item in a ruamel document.

    Dotted plugin keys keep their spelling (``rules[0].match.acme.sentiment``), which is also
    how problems name them."""
    out = {} if out is None else out
    try:
        if isinstance(doc, CommentedMap):
            for key, value in doc.items():
                sub = f"{path}.{key}" if path else str(key)
                out[sub] = doc.lc.key(key)[0] + 1
                line_index(value, sub, out)
        elif isinstance(doc, CommentedSeq):
            for i, value in enumerate(doc):
                sub = f"{path}[{i}]"
                out[sub] = doc.lc.item(i)[0] + 1
                line_index(value, sub, out)
    except (KeyError, TypeError, AttributeError, RecursionError):
        pass
    return out


def _latency_problems(config: Config) -> list[Problem]:
    """The timing module's checks of every latency block (profiles, distributions, load),
    as FILE:LINE problems. Distribution names are not known before the plugins are loaded:
    an unknown one is checked, with its parameters, when the engine is built (by ``serve``
    and ``validate`` alike)."""
    from mockllm.engine.latency import LatencyModels
    from mockllm.engine.timing import TimingRuntime

    class _AnyName(LatencyModels):
        def build(self, spec: Any, default_ms: float) -> Any:
            name = spec.get("model", "constant") if isinstance(spec, dict) else "constant"
            if isinstance(name, str) and name not in self.factories:
                spec = {"model": "constant"}
            return super().build(spec, default_ms)

    try:
        TimingRuntime(_AnyName()).compile(config)
    except ConfigError as exc:
        return exc.found
    return []


def check(config: Config) -> list[tuple[str, str]]:
    """Semantic checks msgspec cannot express; returns (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for i, model in enumerate(config.models):
        for j, name in enumerate((model.id, *model.aliases)):
            where = f"models[{i}].id" if j == 0 else f"models[{i}].aliases[{j - 1}]"
            if name in seen:
                problems.append((where, f"{name!r} is already used by {seen[name]}"))
            seen[name] = f"models[{i}]"
        for field in ("context_window", "max_output_tokens", "dimensions"):
            if getattr(model, field) < 1:
                problems.append((f"models[{i}].{field}", "must be 1 or more"))
    problems.extend((f"defaults.{p}", m) for p, m in config.defaults.problems())
    problems.extend(check_rules(config.rules))
    if config.server.journal_size < 1:
        problems.append(("server.journal_size", "must be 1 or more"))
    if config.server.watch_interval <= 0:
        problems.append(("server.watch_interval", "must be above 0"))
    if config.server.http not in HTTP_SERVERS:
        problems.append(("server.http", f"must be one of {', '.join(HTTP_SERVERS)}, got "
                                        f"{config.server.http!r}"))
    if not config.server.shutdown_timeout_s >= 0:
        problems.append(("server.shutdown_timeout_s", "must be 0 or more"))
    for name in Limits.__struct_fields__:
        if not getattr(config.server.limits, name) > 0:
            problems.append((f"server.limits.{name}", "must be above 0"))
    for name in Memory.__struct_fields__:
        if getattr(config.server.memory, name) < 0:
            problems.append((f"server.memory.{name}", "must be 0 or more"))
    for i, quota in enumerate(config.quotas):
        problem = check_quota(quota)
        if problem is not None:
            problems.append((f"quotas[{i}]", problem))
    return problems


def check_rules(rules: list[Rule], prefix: str = "rules") -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    names: dict[str, int] = {}
    for i, rule in enumerate(rules):
        problems.extend((f"{prefix}[{i}].{p}", m) for p, m in rule.problems())
        if rule.name is not None:
            if rule.name in names:
                problems.append((f"{prefix}[{i}].name", f"{rule.name!r} is already the name "
                                                        f"of {prefix}[{names[rule.name]}]"))
            names[rule.name] = i
    return problems


def parse_rules(text: str, filename: str = "<request body>",
                max_depth: int = YAML_DEPTH) -> list[Rule]:
    """Rules from YAML or JSON text: one rule, a list of rules, or ``{rules: [...]}``.

    Errors are :class:`ConfigError` with line and key path, like a config file's.
    """
    return parse_rules_located(text, filename, max_depth)[0]


def parse_rules_located(text: str, filename: str = "<request body>",
                        max_depth: int = YAML_DEPTH) -> tuple[list[Rule], Callable[[str], str]]:
    """:func:`parse_rules`, plus ``where(path) -> "FILE:LINE"`` for problems found later
    (plugin matchers and responders are compiled by the engine)."""
    doc = _load_yaml(text, filename, max_depth)
    if isinstance(doc, dict) and set(doc) == {"rules"}:
        plain = _plain_doc(doc, filename, len(text))
    else:
        body = _plain_doc(doc, filename, len(text))
        plain = {"rules": body if isinstance(doc, list) else [body]}
    for rule in plain["rules"] if isinstance(plain.get("rules"), list) else ():
        lift_rule(rule)

    def line(path: str) -> int:
        if isinstance(doc, dict) and set(doc) == {"rules"}:
            return _line(doc, path)
        rest = path.removeprefix("rules")
        if isinstance(doc, list):
            return _line(doc, rest)
        return _line(doc, rest.removeprefix("[0]").lstrip("."))

    try:
        holder = msgspec.convert(plain, _Rules, strict=True)
    except msgspec.ValidationError as exc:
        path, what = _split(str(exc))
        raise ConfigError([f"{filename}:{line(path)}: {path or '(top level)'}: {what}"]) from None
    problems = [f"{filename}:{line(p)}: {p}: {m}" for p, m in check_rules(holder.rules)]
    if problems:
        raise ConfigError(problems)
    return holder.rules, lambda path: f"{filename}:{line(path)}"


class _Rules(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[Rule] = []


def _load_yaml(text: str, filename: str, max_depth: int) -> Any:
    deepest, line = yamlguard.depth(text, max_depth)
    if deepest > max_depth:
        raise ConfigError([f"{filename}:{line}: the document nests deeper than {max_depth} "
                           "levels (server.limits.yaml_depth)"])
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_error(exc, filename, text)]) from None
    except YAMLError as exc:
        raise ConfigError([f"{filename}:1: {exc}"]) from None
    except RecursionError:
        # ruamel's parser recurses per nesting level: ``[[[[...`` 10,000 deep
        raise ConfigError([f"{filename}:1: the document nests too deeply"]) from None


def _syntax_error(exc: MarkedYAMLError, filename: str, text: str) -> str:
    """``FILE:LINE: message`` at the line of the mistake. An unclosed quote or bracket is
    found only where the parser gives up (often the end of the file), so for those the line
    is where the quote or bracket opened, and the message says where parsing stopped."""
    problem = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
    context = exc.context_mark.line + 1 if exc.context_mark is not None else None
    opened = yamlguard.unclosed(text)
    if opened is not None and opened < problem:
        return (f"{filename}:{opened}: a quote or bracket opened on this line is not closed "
                f"({exc.problem}, line {problem})")
    where = f" ({exc.context} from line {context})" if exc.context and context else ""
    return f"{filename}:{problem}: {exc.problem}{where}"


#: Values a document may expand to beyond one per two bytes of its text (a text without
#: aliases never has more). YAML aliases can expand a small text far past that ("billion
#: laughs"), so expansion stops here rather than eating the server's time and memory.
_EXTRA_NODES = 100_000


def _plain_doc(doc: Any, filename: str, size: int) -> Any:
    """``doc`` as plain values; a self-referencing or exploding alias is a ConfigError."""
    budget = _EXTRA_NODES + size // 2
    try:
        return _plain(doc, [budget])
    except RecursionError:
        raise ConfigError([f"{filename}:1: the document nests too deeply (or an alias "
                           "refers to itself)"]) from None
    except OverflowError:
        raise ConfigError([f"{filename}:1: the document expands to more than {budget} "
                           "values (YAML aliases?)"]) from None


def _plain(node: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise OverflowError
    if isinstance(node, dict):
        return {str(k): _plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, budget) for v in node]
    if isinstance(node, float) and type(node) is not float:
        return float(node)  # ruamel's ScalarFloat (1.0, 1e3), which msgspec's strict mode refuses
    # ruamel's ScalarInt / ScalarBoolean / ScalarString subclasses: plain values encode anywhere
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, int) and type(node) not in (int, bool):
        return int(node)
    if isinstance(node, str) and type(node) is not str:
        return str(node)
    return node


_PATH = re.compile(r" - at `\$(.*)`$")
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _split(message: str) -> tuple[str, str]:
    """A msgspec message to (key path, what is wrong)."""
    m = _PATH.search(message)
    path = m.group(1).lstrip(".") if m else ""
    what = message[: m.start()] if m else message
    if what.startswith("Object contains unknown field"):
        field = what.split("`")[1]
        path = f"{path}.{field}" if path else field
        what = "unknown key"
    elif what.startswith("Object missing required field"):
        field = what.split("`")[1]
        what = f"missing required key {field!r}"
    elif what.startswith("Expected `"):
        what = what.replace("`object`", "a mapping").replace("`array`", "a list")
    return path, what


def _locate(message: str, doc: Any, filename: str) -> str:
    path, what = _split(message)
    return f"{filename}:{_line(doc, path)}: {path or '(top level)'}: {what}"


def _line(doc: Any, path: str) -> int:
    """The 1-based line of ``path`` (``rules[3].match.model``) in a ruamel document.

    A key that itself contains dots (a plugin's ``acme.sentiment``) is found too: parts are
    joined back until a key of the mapping matches."""
    node, line = doc, 1
    parts = _PART.findall("." + path if path and path[0] != "[" else path)
    i = 0
    while i < len(parts):
        key, index = parts[i]
        try:
            if key and isinstance(node, CommentedMap):
                j, joined = i, key
                while joined not in node and j + 1 < len(parts) and parts[j + 1][0]:
                    j += 1
                    joined += "." + parts[j][0]
                if joined not in node:
                    break
                line = node.lc.key(joined)[0] + 1
                node = node[joined]
                i = j + 1
                continue
            if index and isinstance(node, CommentedSeq) and int(index) < len(node):
                line = node.lc.item(int(index))[0] + 1
                node = node[int(index)]
                i += 1
                continue
            break
        except (KeyError, TypeError, AttributeError):
            break
    return line
