"""`make test` fails when a test is skipped: tests/no_skips.py run on small suites of its own."""

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO


def run_suite(folder, files: dict[str, str]) -> subprocess.CompletedProcess:
    for name, body in files.items():
        (folder / name).write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "tests.no_skips", "-p", "no:cacheprovider",
         "--rootdir", str(folder), str(folder)],
        cwd=folder, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )


PASSING = """
    def test_passes():
        assert 1 + 1 == 2
"""


def test_a_clean_suite_passes(tmp_path):
    result = run_suite(tmp_path, {"test_ok.py": PASSING})
    assert result.returncode == 0, result.stdout
    assert "skipped tests are not allowed" not in result.stdout


@pytest.mark.parametrize("body,reason", [
    ("import pytest\n\ndef test_gone():\n    pytest.skip('the data is not checked out')\n", "the data is not checked out"),
    ("import pytest\n\n@pytest.mark.skipif(True, reason='not on this machine')\ndef test_gone():\n    pass\n",
     "not on this machine"),
    ("import pytest\n\npytest.skip('no tables', allow_module_level=True)\n\ndef test_gone():\n    pass\n", "no tables"),
    ("import pytest\n\n@pytest.mark.xfail(reason='known bug')\ndef test_gone():\n    assert False\n", "known bug"),
])
def test_a_skip_fails_the_run_and_is_named(tmp_path, body, reason):
    result = run_suite(tmp_path, {"test_ok.py": PASSING, "test_gone.py": body})
    assert result.returncode == 1, result.stdout
    assert "1 passed" in result.stdout  # the rest of the suite still ran
    lines = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED test_gone.py")]
    assert len(lines) == 1 and reason in lines[0], result.stdout
    assert "1 test(s) skipped: the suite must run whole on a fresh clone" in result.stdout


def test_a_failing_suite_keeps_its_failure_code(tmp_path):
    result = run_suite(tmp_path, {"test_bad.py": "def test_bad():\n    assert False\n",
                                  "test_gone.py": "import pytest\n\ndef test_gone():\n    pytest.skip('a skip beside a failure')\n"})
    assert result.returncode == 1 and "1 failed" in result.stdout
