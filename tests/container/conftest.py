"""The container steps run in order on one instance: after a failed step (or fixture) the rest are skipped."""

from __future__ import annotations

import pytest

_FAILED_STEP: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        _FAILED_STEP.append(item.name)


def pytest_runtest_setup(item):
    if _FAILED_STEP:
        pytest.skip(f"an earlier step failed: {_FAILED_STEP[0]}")
