"""The fuzz tests' scale and tally.

The default suite runs a few hundred examples; ``tox -e fuzz`` sets ``MOCKLLM_FUZZ_EXAMPLES``
(examples per endpoint and mode) higher and turns on schemathesis' coverage phase. The tally of
cases sent, by operation and status, is printed at the end and is what docs/reliability.md
reports.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import hypothesis
import pytest

from mockllm.testing import LiveServer, run_config

#: Examples per endpoint and per strategy or mode.
EXAMPLES = int(os.environ.get("MOCKLLM_FUZZ_EXAMPLES", "8"))
#: The full run (schemathesis' coverage phase too).
DEEP = "MOCKLLM_FUZZ_EXAMPLES" in os.environ

#: The key the fuzz servers want: a case without it must get 401, one with it is judged on
#: its body.
KEY = "sk-fuzz"

TALLY: Counter[tuple[str, str, int]] = Counter()
#: Why valid (positive) cases were refused: (operation, message with digits masked).
REFUSED: Counter[tuple[str, str]] = Counter()


def settings() -> hypothesis.settings:
    """Deterministic (derandomize, no example database), no deadline (a busy machine is
    slow, and no test here is about time), no shrinking past the first failure report."""
    return hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )


@pytest.fixture(scope="session")
def fuzz_server() -> Iterator[LiveServer]:
    with run_config(f"server: {{api_keys: [{KEY}]}}\n") as live:
        yield live


@pytest.fixture(scope="session")
def strict_server() -> Iterator[LiveServer]:
    """``server.strict``: unknown fields are refused, as the spec's
    ``additionalProperties: false`` asks (the default server ignores them by design)."""
    with run_config(f"server: {{api_keys: [{KEY}], strict: true}}\n") as live:
        yield live


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    by_kind: Counter[str] = Counter()
    by_status: Counter[tuple[str, int]] = Counter()
    for (kind, _label, status), n in TALLY.items():
        by_kind[kind] += n
        by_status[(kind, status // 100 * 100)] += n
    terminalreporter.section("mockllm fuzz tally")
    for kind, n in sorted(by_kind.items()):
        spread = ", ".join(f"{s // 100}xx: {c}" for (k, s), c in sorted(by_status.items())
                           if k == kind)
        terminalreporter.write_line(f"{kind}: {n} cases ({spread})")
    if os.environ.get("MOCKLLM_FUZZ_TALLY"):
        for (kind, label, status), n in sorted(TALLY.items()):
            terminalreporter.write_line(f"  {kind} {label} {status}: {n}")
        terminalreporter.write_line("valid cases refused, by reason:")
        for (label, message), n in REFUSED.most_common():
            terminalreporter.write_line(f"  {n:5d} {label}: {message}")
