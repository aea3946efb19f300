"""The PluginManager factory and registry collection, with faked entry points.

A real pip-installed plugin is covered by tests/test_e2e_example_plugin.py (tox -e e2e, CI).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import plugins_builtin
from mockllm.assembly import StartupOptions, create_context
from mockllm.plugins import LoadOptions, build_plugin_manager
from mockllm.registry import PluginError

BUILTINS = sorted(
    f"builtin.{p.stem}"
    for p in Path(plugins_builtin.__file__).parent.iterdir()
    if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())
)


class FakeDist:
    def __init__(self, name: str, eps: dict[str, str]) -> None:
        self.metadata = {"name": name}
        self.version = "1.0"
        self.entry_points = [importlib.metadata.EntryPoint(n, v, "mockllm") for n, v in eps.items()]


@pytest.fixture
def fake_eps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeDist]]:
    dists: list[FakeDist] = []
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))
    monkeypatch.delenv("MOCKLLM_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("MOCKLLM_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("MOCKLLM_USE", raising=False)
    yield dists


def ctx(**kw: Any) -> Any:
    kw.setdefault("autoload", True)
    return create_context(StartupOptions(**kw))


def selected(context: Any, key: str = "openai.chat") -> tuple[str, str]:
    r = context.endpoints.resolutions[key]
    return r.winner.plugin, r.reason


def test_builtins_are_registered_first_and_named_builtin_module(fake_eps: list[FakeDist]) -> None:
    loaded = build_plugin_manager(LoadOptions())
    names = [i.name for i in loaded.infos]
    assert names[: len(BUILTINS)] == BUILTINS
    assert {i.source for i in loaded.infos} == {"builtin"}


def test_builtin_hookimpls_are_all_trylast() -> None:
    loaded = build_plugin_manager(LoadOptions(autoload=False))
    for caller in loaded.pm.hook.__dict__.values():
        for impl in getattr(caller, "get_hookimpls", list)():
            if impl.plugin_name.startswith("builtin."):
                assert impl.trylast, f"{impl.plugin_name}.{impl.function.__name__}"


def test_entry_point_plugin_overrides_builtin_by_key(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("acme-dist", {"acme": "tests.plugins.acme_chat"}))
    c = ctx()
    assert selected(c) == ("acme", "plugin")
    info = next(i for i in c.plugins.infos if i.name == "acme")
    assert (info.source, info.distribution) == ("entrypoint", "acme-dist 1.0")
    # Path and method are inherited from the builtin declaration.
    assert c.endpoints.spec("openai.chat").routes[0].path == "/v1/chat/completions"


def test_first_loaded_plugin_wins_a_tie_despite_pluggy_lifo(fake_eps: list[FakeDist]) -> None:
    # pluggy calls normal hookimpls newest first; the first *loaded* must still win.
    fake_eps.append(FakeDist("a", {"acme": "tests.plugins.acme_chat"}))
    fake_eps.append(FakeDist("b", {"other": "tests.plugins.other_chat"}))
    c = ctx()
    assert selected(c) == ("acme", "plugin")
    assert any("acme" in w and "other" in w for w in c.endpoints.warnings)


def test_trylast_fifo_trap(fake_eps: list[FakeDist]) -> None:
    # pluggy calls trylast hookimpls OLDEST first and normal ones NEWEST first, so neither
    # "first called wins" nor "last called wins" matches load order. Resolution ignores call
    # order: among plugins, the first loaded wins whichever markers they carry.
    c = ctx(modules=["tests.plugins.acme_chat", "tests.plugins.late_builtin"])
    order = [i.plugin_name for i in
             reversed(c.plugins.pm.hook.mockllm_register_endpoints.get_hookimpls())]
    assert order[0] == "tests.plugins.acme_chat"  # the normal impl is called first...
    assert order.index("builtin.admin") < order.index("tests.plugins.late_builtin")  # FIFO
    assert order[-1] == "tests.plugins.late_builtin"  # ...and the trylast plugin last
    assert selected(c) == ("tests.plugins.acme_chat", "plugin")
    c2 = ctx(modules=["tests.plugins.late_builtin", "tests.plugins.acme_chat"])
    assert selected(c2) == ("tests.plugins.late_builtin", "plugin")
    # A trylast plugin still outranks the builtin it shadows.
    c3 = ctx(modules=["tests.plugins.late_builtin"])
    assert selected(c3) == ("tests.plugins.late_builtin", "plugin")


def test_tryfirst_beats_earlier_plugin(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("a", {"acme": "tests.plugins.acme_chat"}))
    c = ctx(modules=["tests.plugins.fast_chat"])
    assert selected(c) == ("tests.plugins.fast_chat", "tryfirst")


def test_startup_override_and_builtin_keyword(fake_eps: list[FakeDist],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake_eps.append(FakeDist("a", {"acme": "tests.plugins.acme_chat"}))
    assert selected(ctx(use={"openai.chat": "builtin"})) == ("builtin.openai", "override")
    monkeypatch.setenv("MOCKLLM_USE", "openai.chat=builtin")
    assert selected(ctx()) == ("builtin.openai", "override")


def test_override_naming_a_non_contributor_fails(fake_eps: list[FakeDist]) -> None:
    with pytest.raises(PluginError, match="does not implement 'openai.chat'"):
        ctx(use={"openai.chat": "builtin.health"})
    with pytest.raises(PluginError, match="unknown"):
        ctx(use={"no.such.key": "builtin"})


def test_blocked_plugin_contributes_nothing(fake_eps: list[FakeDist],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake_eps.append(FakeDist("a", {"acme": "tests.plugins.acme_chat"}))
    c = ctx(disable=["acme"])
    assert selected(c) == ("builtin.openai", "builtin")
    assert next(i for i in c.plugins.infos if i.name == "acme").status == "blocked"
    monkeypatch.setenv("MOCKLLM_DISABLE_PLUGINS", "acme")
    assert selected(ctx()) == ("builtin.openai", "builtin")


def test_builtin_can_be_blocked() -> None:
    c = create_context(StartupOptions(autoload=False, disable=["builtin.openai"]))
    assert "openai.chat" not in c.endpoints.keys()


def test_autoload_off_skips_entry_points(fake_eps: list[FakeDist],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fake_eps.append(FakeDist("a", {"acme": "tests.plugins.acme_chat"}))
    monkeypatch.setenv("MOCKLLM_DISABLE_PLUGIN_AUTOLOAD", "1")
    c = create_context(StartupOptions())
    assert selected(c) == ("builtin.openai", "builtin")
    assert "acme" not in [i.name for i in c.plugins.infos]


def test_duplicate_entry_point_name_is_skipped_with_a_warning(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("first", {"acme": "tests.plugins.acme_chat"}))
    fake_eps.append(FakeDist("second", {"acme": "tests.plugins.other_chat"}))
    c = ctx()
    assert selected(c) == ("acme", "plugin")
    assert any("'acme' from second 1.0 skipped" in w for w in c.plugins.warnings)


def test_import_failure_is_one_line_naming_entry_point_and_distribution(
    fake_eps: list[FakeDist],
) -> None:
    fake_eps.append(FakeDist("broken-dist", {"broken": "tests.plugins.broken"}))
    with pytest.raises(PluginError) as info:
        ctx()
    message = str(info.value)
    assert "\n" not in message
    assert "broken = tests.plugins.broken" in message and "broken-dist 1.0" in message
    assert "ModuleNotFoundError" in message


def test_explicit_module_import_failure(fake_eps: list[FakeDist]) -> None:
    with pytest.raises(PluginError, match="cannot import plugin module 'tests.plugins.nope'"):
        ctx(modules=["tests.plugins.nope"])


def test_misspelled_hook_fails_check_pending(fake_eps: list[FakeDist]) -> None:
    with pytest.raises(PluginError, match="mockllm_register_endpoint"):
        ctx(modules=["tests.plugins.misspelled"])


def test_new_key_without_a_path_is_refused(fake_eps: list[FakeDist]) -> None:
    with pytest.raises(PluginError, match="acme.nowhere.*has no path"):
        ctx(modules=["tests.plugins.pathless"])


def test_config_plugins_load_and_use(tmp_path: Any, fake_eps: list[FakeDist]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "plugins:\n  load: [tests.plugins.acme_chat, tests.plugins.other_chat]\n"
        "  use: {openai.chat: tests.plugins.other_chat}\n"
    )
    c = ctx(config_path=str(cfg))
    assert selected(c) == ("tests.plugins.other_chat", "override")
    assert {i.source for i in c.plugins.infos if i.name.startswith("tests.")} == {"config"}


def test_blocking_accepts_a_distribution_name(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("acme-dist", {"acme": "tests.plugins.acme_chat"}))
    for name in ("acme-dist", "acme_dist", "Acme.Dist"):
        c = ctx(disable=[name])
        assert selected(c) == ("builtin.openai", "builtin"), name
        assert next(i for i in c.plugins.infos if i.name == "acme").status == "blocked"


def test_blocking_an_unknown_name_is_an_error(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("acme-dist", {"acme": "tests.plugins.acme_chat"}))
    with pytest.raises(PluginError, match=r"cannot block 'acm'.*did you mean 'acme'"):
        ctx(disable=["acm"])
    from mockllm.cli import main

    assert main(["plugins", "--disable-plugin", "nosuch"]) == 2


def test_a_plugin_has_one_name_however_it_is_loaded(fake_eps: list[FakeDist]) -> None:
    fake_eps.append(FakeDist("acme-dist", {"acme": "tests.plugins.acme_chat"}))
    # -p of an installed plugin's module: already loaded by its entry point, nothing twice.
    c = ctx(modules=["tests.plugins.acme_chat"])
    assert [i.name for i in c.plugins.infos if i.module == "tests.plugins.acme_chat"] == ["acme"]
    assert selected(c) == ("acme", "plugin")
    # With autoload off, -p loads it under its entry-point name all the same.
    c = ctx(modules=["tests.plugins.acme_chat"], autoload=False)
    info = next(i for i in c.plugins.infos if i.module == "tests.plugins.acme_chat")
    assert (info.name, info.source, info.distribution) == ("acme", "module", "acme-dist 1.0")
    assert ctx(modules=["tests.plugins.acme_chat"], autoload=False,
               disable=["acme"]).endpoints.resolutions["openai.chat"].winner.builtin
