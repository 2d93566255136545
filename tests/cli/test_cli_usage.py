"""The command line's usage errors, help and exit codes (no grown crop needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xsweep import cli
from xsweep.cli import EXIT_NOTHING, EXIT_OK, EXIT_USAGE, main


def test_exit_codes_are_documented_in_module_and_help(capsys):
    for code in ("0", "1", "2", "3", "130"):
        assert f"\n{code}\n" in cli.__doc__
    assert main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for line in (
        "0  success",
        "1  some combos failed",
        "2  usage",
        "3  nothing",
        "130  interrupted",
    ):
        assert line in out
    for name in ("status", "grow", "reap", "retry", "clean"):
        assert name in out


@pytest.mark.parametrize("name", ["status", "grow", "reap", "retry", "clean"])
def test_each_subcommand_has_help_with_exit_codes(name, capsys):
    assert main([name, "--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"usage: xsweep {name}")
    assert "exit codes:" in out


def test_registering_a_subcommand_is_one_name_in_the_list(monkeypatch, capsys):
    module = type(sys)("xsweep.cli.hello")
    module.HELP = "say hello"
    module.add_arguments = lambda parser: parser.add_argument("who")
    module.run = lambda args: print(f"hello {args.who}") or 0
    monkeypatch.setitem(sys.modules, "xsweep.cli.hello", module)
    monkeypatch.setattr(cli, "_available", lambda: [*cli.SUBCOMMANDS, "hello"])
    assert main(["hello", "you"]) == EXIT_OK
    assert capsys.readouterr().out == "hello you\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["grow"],
        ["grow", "somewhere", "0"],
        ["grow", "somewhere", "two"],
        ["grow", "somewhere", "--heartbeat-timeout", "-1"],
        ["status", "a", "--name", "b"],
        ["status", "a", "--parent-dir", "b"],
        ["reap", "somewhere", "--timeout", "3"],
        ["clean", "somewhere", "--all"],
        ["clean", "somewhere", "--yes"],
    ],
)
def test_usage_errors_exit_2_with_a_message(argv, capsys):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "error" in err
    assert "Traceback" not in err


def test_a_directory_that_is_no_crop_exits_2(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(tmp_path.name) in err and ".xyz-" in err


@pytest.mark.parametrize("command", ["status", "grow", "reap", "retry", "clean"])
def test_a_crop_not_sown_exits_3(command, tmp_path, capsys):
    (tmp_path / ".xyz-empty").mkdir()  # a crop directory without a sow record
    for where in (
        [str(tmp_path / ".xyz-empty")],
        [str(tmp_path / ".xyz-never")],
        ["--name", "never", "--parent-dir", str(tmp_path)],
    ):
        assert main([command, *where]) == EXIT_NOTHING
        err = capsys.readouterr().err
        gone = "empty" not in where[-1] and "never" in " ".join(where)
        assert ("no such directory" if gone else "is not sown") in err
        assert "Traceback" not in err


def test_name_defaults_to_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["status", "--name", "nothing"]) == EXIT_NOTHING
    assert str(tmp_path / ".xyz-nothing") in capsys.readouterr().err


def test_a_crops_name_finds_its_directory_beside_it(tmp_path, monkeypatch, capsys):
    # a new user types the name the crop was sown with, not .xyz-<name>
    import textwrap

    import xsweep

    monkeypatch.chdir(tmp_path)
    crop = xsweep.Crop(fn=textwrap.indent, name="demo")
    crop.sow_combos({"text": ["a", "b"], "prefix": ["> "]})
    assert main(["grow", "demo"]) == EXIT_OK
    assert crop.missing_results() == ()
    assert main(["status", str(tmp_path / "demo")]) == EXIT_OK
    assert "crop 'demo'" in capsys.readouterr().out
    assert main(["status", "nothere"]) == EXIT_USAGE
    assert "no .xyz-nothere beside it" in capsys.readouterr().err


def test_python_m_xsweep_runs_the_command_line(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "xsweep", "status", str(tmp_path / ".xyz-none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_NOTHING
    assert done.stderr.startswith("xsweep: error:")
    assert "Traceback" not in done.stderr
    version = subprocess.run(
        [sys.executable, "-m", "xsweep", "--version"], capture_output=True, text=True
    )
    assert version.returncode == EXIT_OK
    assert version.stdout.startswith("xsweep ")
