"""Deterministic instances of a JSON schema: tool-call arguments and structured output.

:func:`instance` returns a value that validates against the schema for the keywords LLM
APIs use (``type``, ``properties``/``required``, ``items``/``minItems``/``maxItems``,
``enum``, ``const``, string ``format``/``minLength``/``maxLength``, number ranges and
``multipleOf``, ``anyOf``/``oneOf``/``allOf``, ``$ref`` into ``$defs``/``definitions``,
nullable type lists). The same schema and seed always give the same value. ``pattern`` is
not generated from: a schema with one gets its ``examples``/``default`` if given.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

_WORDS = ("alpha", "bravo", "river", "stone", "cloud", "maple", "orbit", "pixel", "amber",
          "delta", "ember", "frost", "grove", "harbor", "indigo", "jade")

#: Recursive schemas stop growing here: only required properties, minimal arrays.
_MAX_DEPTH = 6

#: Client-supplied schemas can ask for anything (``minLength: 1e8``, ``minItems`` nested
#: six deep); generation runs on the event loop, so an answer bigger than these is refused
#: with a 400 rather than stalling every other request while it is built.
_MAX_STRING = 100_000
_MAX_NODES = 100_000

_FORMATS = {
    "date-time": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T"
                           f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
    "duration": lambda r: f"PT{r.randint(1, 59)}M",
    "email": lambda r: f"{r.choice(_WORDS)}@example.com",
    "idn-email": lambda r: f"{r.choice(_WORDS)}@example.com",
    "hostname": lambda r: f"{r.choice(_WORDS)}.example.com",
    "idn-hostname": lambda r: f"{r.choice(_WORDS)}.example.com",
    "uri": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "iri": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "uri-reference": lambda r: f"/{r.choice(_WORDS)}",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "ipv4": lambda r: f"192.0.2.{r.randint(1, 254)}",
    "ipv6": lambda r: f"2001:db8::{r.randint(1, 0xFFFF):x}",
}


class SchemaError(ValueError):
    """The schema cannot be satisfied or uses an unresolvable ``$ref``."""


def instance(schema: Any, seed: int = 0) -> Any:
    """A value valid against ``schema`` (a JSON-schema mapping), chosen by ``seed``.

    Raises :class:`SchemaError` for any schema it cannot use, including keywords of the
    wrong type (``minLength: "x"``, ``properties: 1``), which come from the client.
    """
    try:
        return _Gen(schema, random.Random(seed)).value(schema, 0)
    except SchemaError:
        raise
    except RecursionError:
        raise SchemaError("the schema nests too deeply") from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        raise SchemaError(f"the schema has a keyword of the wrong type or value ({exc})") from None


class _Gen:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.nodes = 0

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise SchemaError(f"only local $ref is supported, got {ref!r}")
            node: Any = self.root
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(node, dict) or part not in node:
                    raise SchemaError(f"$ref {ref!r} does not resolve")
                node = node[part]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**node, **siblings} if isinstance(node, dict) else siblings
            seen += 1
            if seen > 32:
                raise SchemaError(f"$ref {ref!r} loops")
        return schema

    def value(self, schema: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise SchemaError(f"the schema asks for more than {_MAX_NODES} values")
        if schema is True or schema is None or schema == {}:
            return self.word()
        if schema is False:
            raise SchemaError("the schema `false` allows no value")
        if not isinstance(schema, dict):
            raise SchemaError(f"a schema must be a mapping, got {type(schema).__name__}")
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = schema["enum"]
            if not options:
                raise SchemaError("an empty enum allows no value")
            return options[self.rng.randrange(len(options))]
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part) if isinstance(part, dict) else {}
                for k, v in part.items():
                    if k in ("properties", "$defs", "definitions"):
                        merged[k] = {**merged.get(k, {}), **v}
                    elif k == "required":
                        merged[k] = list(dict.fromkeys([*merged.get(k, []), *v]))
                    else:
                        merged.setdefault(k, v)
            return self.value(merged, depth)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                base = {k: v for k, v in schema.items() if k != key}
                # Prefer a non-null option: an answer full of nulls tests nothing.
                pick = next((o for o in options if not _is_null(self.resolve(o)
                                                               if isinstance(o, dict) else o)),
                            options[0])
                sub = self.resolve(pick) if isinstance(pick, dict) else pick
                return self.value({**base, **sub} if isinstance(sub, dict) else sub, depth)
        for key in ("examples", "default"):
            if "pattern" in schema and key in schema:
                found = schema[key]
                return found[0] if key == "examples" and isinstance(found, list) else found
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            kind = non_null[0] if non_null else "null"
        if kind is None:
            kind = ("object" if "properties" in schema else
                    "array" if "items" in schema else "string")
        make = getattr(self, "make_" + str(kind), None)
        if make is None:
            raise SchemaError(f"unknown type {kind!r}")
        return make(schema, depth)

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    def make_null(self, schema: dict[str, Any], depth: int) -> None:
        return None

    def make_boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def make_string(self, schema: dict[str, Any], depth: int) -> str:
        fmt = _FORMATS.get(schema.get("format", ""))
        text = fmt(self.rng) if fmt is not None else " ".join(
            self.word() for _ in range(self.rng.randint(1, 3)))
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")
        if lo > _MAX_STRING:
            raise SchemaError(f"minLength {lo} is above the {_MAX_STRING} mockllm generates")
        if len(text) < lo:
            words = [text]
            size = len(text)
            while size < lo:
                word = self.word()
                words.append(word)
                size += 1 + len(word)
            text = " ".join(words)
        if hi is not None:
            text = text[: int(hi)]
            if len(text) < lo:
                raise SchemaError(f"minLength {lo} is above maxLength {hi}")
        return text

    def make_integer(self, schema: dict[str, Any], depth: int) -> int:
        lo, hi = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if step:
            first = math.ceil(lo / step)
            last = math.floor(hi / step)
            if first > last:
                raise SchemaError("no multiple of multipleOf lies in the range")
            return int(self.rng.randint(first, last) * step)
        return self.rng.randint(int(lo), int(hi))

    def make_number(self, schema: dict[str, Any], depth: int) -> float:
        if schema.get("multipleOf"):
            return float(self.make_integer(schema, depth))
        lo, hi = _bounds(schema, integer=False)
        exact = lo + (hi - lo) * self.rng.random()
        short = round(exact, 2)
        return short if lo <= short <= hi else exact

    def make_array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", max(lo, 3)))
        if lo > _MAX_NODES:
            raise SchemaError(f"minItems {lo} is above the {_MAX_NODES} mockllm generates")
        hi = min(hi, max(lo, 16))  # any length up to maxItems is valid; keep answers small
        n = lo if depth >= _MAX_DEPTH else self.rng.randint(max(lo, min(1, hi)), max(lo, hi))
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", {})
        out = [self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(n)]
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for v in out:
                if v not in unique:
                    unique.append(v)
            tries = 0
            while len(unique) < lo and tries < 20 * (lo + 1):  # draw again until enough
                v = self.value(items, depth + 1)
                if v not in unique:
                    unique.append(v)
                tries += 1
            if len(unique) < lo:
                raise SchemaError("cannot make enough unique items")
            out = unique
        return out

    def make_object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        names = required if depth >= _MAX_DEPTH else list(dict.fromkeys([*props, *required]))
        return {name: self.value(props.get(name, {}), depth + 1) for name in names}


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _bounds(schema: dict[str, Any], integer: bool) -> tuple[float, float]:
    nudge = 1.0 if integer else 0.01
    lows = [v for v in (_number(schema, "minimum"),) if v is not None]
    highs = [v for v in (_number(schema, "maximum"),) if v is not None]
    if (xlo := _number(schema, "exclusiveMinimum")) is not None:
        lows.append(xlo + nudge)
    if (xhi := _number(schema, "exclusiveMaximum")) is not None:
        highs.append(xhi - nudge)
    lo = max(lows) if lows else None
    hi = min(highs) if highs else None
    if lo is None:
        lo = 0.0 if hi is None or hi >= 100 else hi - 100
    if hi is None:
        hi = lo + 100
    if integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    if lo > hi:
        raise SchemaError(f"minimum {lo:g} is above maximum {hi:g}")
    return lo, hi


def _number(schema: dict[str, Any], key: str) -> float | None:
    v = schema.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
