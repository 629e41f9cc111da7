"""The `desk` command line: options, exit codes and messages as a user sees them."""


import pytest

from bot.cli import main


@pytest.mark.parametrize("order", ["before", "after"])
def test_data_dir_is_honoured_before_or_after_the_command(tmp_path, capsys, order):
    target = tmp_path / "elsewhere"
    args = ["--data-dir", str(target), "sources"] if order == "before" else ["sources", "--data-dir", str(target)]
    assert main(args) == 0
    assert (target / "chroma").is_dir()
    assert "The knowledge base is empty" in capsys.readouterr().out


def test_ingest_without_inputs_is_a_clear_error(capsys):
    assert main(["ingest"]) == 1
    assert "error: nothing to ingest" in capsys.readouterr().err


def test_ingest_failure_names_the_input_and_exits_non_zero(tmp_path, capsys):
    missing = tmp_path / "missing.txt"
    assert main(["ingest", str(missing)]) == 1
    captured = capsys.readouterr()
    assert f"failed {missing}: no such file or folder" in captured.err
    assert "0 added" in captured.out and "1 failed" in captured.out


def test_forget_unknown_id(capsys):
    assert main(["forget", "nope"]) == 1
    assert "no document with id 'nope'" in capsys.readouterr().err
