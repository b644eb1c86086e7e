"""Fault tests: a real server process killed with SIGKILL under load, and PostgreSQL
restarted under load. Marked `faults` (`pytest -m faults` runs only these, `-m "not
faults"` all but these); they run in the README's test command like every other test,
both on one xdist worker (their `xdist_group`), so never at the same time."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: a real server killed, or PostgreSQL restarted, under load")

