"""Plugin matchers, responders, validators and fault kinds inside the engine.

The winners of ``mockllm_matchers`` / ``mockllm_responders`` / ``mockllm_validators`` /
``mockllm_faults``
(resolved at start-up by ``mockllm.named``) arrive here as plain dicts. A rule's
``match: {acme.sentiment: negative}`` or ``respond: {acme.lorem: {...}}`` is compiled once, at
config load (a fault's ``kind: acme.x`` too, with its ``params``), by calling the plugin's
factory with the YAML value; per request only the
returned callables run, so pluggy stays off the request path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from random import Random
from typing import Any

from mockllm.engine.reply import Reply
from mockllm.engine.view import RequestView
from mockllm.errors import ApiError
from mockllm.faults import FaultAction

log = logging.getLogger("mockllm.plugins")

Matcher = Callable[[RequestView], Any]
Responder = Callable[[RequestView, Random], Any]
Validator = Callable[[RequestView], Any]


class ExtensionError(ValueError):
    """A rule uses a plugin name badly: unknown, or the plugin's factory refused the value.

    ``path`` is where, relative to the ``match`` or ``respond`` block (the plugin key, or
    ``sequence[1].acme.lorem``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class Extensions:
    """The plugin contributions one engine compiles rules with (all empty by default)."""

    __slots__ = ("matchers", "responders", "validators", "faults", "_header_faults")

    def __init__(
        self,
        matchers: Mapping[str, Callable[[Any], Matcher]] | None = None,
        responders: Mapping[str, Callable[[Any], Responder]] | None = None,
        validators: Mapping[str, Validator] | None = None,
        faults: Mapping[str, Callable[[Any], FaultAction]] | None = None,
    ) -> None:
        self.matchers = dict(matchers or {})
        self.responders = dict(responders or {})
        self.faults = dict(faults or {})
        #: Actions built for ``x-mockllm-fault: acme.x`` (no params): once per name.
        self._header_faults: dict[str, FaultAction] = {}
        #: In precedence order: the first message answers.
        self.validators: tuple[tuple[str, Validator], ...] = tuple((validators or {}).items())

    def matcher(self, name: str, value: Any) -> Matcher:
        matcher: Matcher = _build("matcher", self.matchers, name, value)
        return matcher

    def responder(self, name: str, value: Any) -> Responder:
        responder: Responder = _build("responder", self.responders, name, value)
        return responder

    def fault(self, name: str, params: Any) -> FaultAction:
        """The action of the plugin fault kind ``name`` built from ``params`` (at config load;
        :class:`ExtensionError` with path ``kind`` or ``params``)."""
        try:
            action: FaultAction = _build("fault", self.faults, name, params)
        except ExtensionError as exc:
            raise ExtensionError("params" if name in self.faults else "kind",
                                 exc.message) from None
        return action

    def header_fault(self, name: str) -> FaultAction:
        """The action for ``x-mockllm-fault: NAME`` (a 400 when no plugin gives ``name``, or
        its factory refuses ``None``); built on first use, then reused."""
        action = self._header_faults.get(name)
        if action is None:
            try:
                action = self._header_faults[name] = self.fault(name, None)
            except ExtensionError as exc:
                raise ApiError(400, f"x-mockllm-fault: {exc.message}") from None
        return action

    def validate(self, view: RequestView) -> None:
        """Raise the provider-neutral 400 of the first validator that objects."""
        for _name, validator in self.validators:
            message = validator(view)
            if message is not None:
                raise ApiError(400, str(message), kind="invalid_request")


NONE = Extensions()


def _build(kind: str, factories: Mapping[str, Callable[[Any], Any]], name: str,
           value: Any) -> Any:
    factory = factories.get(name)
    if factory is None:
        known = ", ".join(sorted(factories)) or "none are installed"
        raise ExtensionError(name, f"unknown {kind} {name!r} (plugin {kind}s: {known})")
    try:
        built = factory(value)
    except Exception as exc:  # a plugin's refusal, however it is spelt, is a config error
        message = str(exc) if _is_config_error(exc) else f"{type(exc).__name__}: {exc}"
        raise ExtensionError(name, message) from None
    if not callable(built):
        raise ExtensionError(name, f"the plugin's factory returned {built!r}, not a {kind} "
                                   "function")
    return built


def _is_config_error(exc: Exception) -> bool:
    from mockllm.config_error import ConfigError

    return isinstance(exc, (ConfigError, ValueError))


def plugin_check(matcher: Matcher) -> Callable[[RequestView], bool]:
    """A rule check from a plugin matcher: falsy, True, or a mapping of template values."""

    def check(view: RequestView) -> bool:
        result = matcher(view)
        if not result:
            return False
        if result is not True and isinstance(result, Mapping):
            view.captures.update({str(k): str(v) for k, v in result.items()})
        return True

    return check


def reply_of(name: str, result: Any) -> Reply:
    """A responder's answer as a :class:`Reply`; anything else is that plugin's bug."""
    if isinstance(result, str):
        return Reply(text=result)
    if isinstance(result, Reply):
        return result
    raise TypeError(f"responder {name!r} returned {type(result).__name__}; it must return a "
                    "str or a mockllm.Reply")
