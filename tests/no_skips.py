"""A pytest plugin that fails the run when any test is skipped (or xfailed).

`make test` loads it (`-p tests.no_skips`), so CI, which runs `make test`, is red when a test
quietly stops running: a skipped test is coverage gone without anyone seeing it. Skips at
collection (a module-level `pytest.skip`) count too; the run still goes to the end, so one
missing file does not hide every other result.
"""

from __future__ import annotations

import pytest

_skipped: list[str] = []


def _reason(report) -> str:
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report) -> None:
    if report.skipped:
        _skipped.append(f"{report.nodeid}: {_reason(report)}")


def pytest_collectreport(report) -> None:
    if report.skipped:
        _skipped.append(f"{report.nodeid or 'collection'}: {_reason(report)}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _skipped:
        return
    terminalreporter.section("skipped tests are not allowed", sep="=", red=True, bold=True)
    for line in _skipped:
        terminalreporter.write_line(f"SKIPPED {line}", red=True)
    terminalreporter.write_line(
        f"{len(_skipped)} test(s) skipped: the suite must run whole on a fresh clone (see tests/no_skips.py)",
        red=True, bold=True,
    )
