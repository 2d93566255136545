"""``xsweep retry`` and ``crop.retry_failed()`` on real crops, sown from real
scripts (functions saved by value), in real processes.

A new user's first hour: a retry that dies with a crashing combo, a retry of
failures that only new labels fix, and ``--adopt-code`` for a function that
the command line cannot read again.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import xsweep
from xsweep.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from xsweep.crop.render import render_html
from xsweep.errors import OutputMismatchError

#: a script sowing a crop of ``f``: it crashes its process at n=3 and hangs
#: at n=4 until ``fixed`` exists; every call is logged
SCRIPT = """
import os, sys, time
import xsweep

def f(n, log, fixed):
    with open(log, "a") as out:
        out.write(f"{{n}}\\n")
    {extra}
    if not os.path.exists(fixed):
        if n == 3:
            os._exit(7)
        if n == 4:
            time.sleep(30)
    return 2 * n

if __name__ == "__main__":
    crop = xsweep.Crop(fn=f, name="c", parent_dir=sys.argv[1], batchsize=2)
    constants = {{"log": sys.argv[2], "fixed": sys.argv[3]}}
    if sys.argv[4] == "sow":
        crop.sow_combos({{"n": range(6)}}, constants=constants, verbosity=0)
    elif sys.argv[4] == "retry":
        report = crop.retry_failed(combo_time_limit=0.5)
        print("failed", report.failed_combos)
    elif sys.argv[4] == "adopt":
        report = crop.retry_failed(fn=f)
        print("\\nfailed", report.failed_combos)
"""


class Script:
    """The script above in ``tmp_path``, its crop, its call log and fix file."""

    def __init__(self, tmp_path: Path, extra: str = "pass", fixed: bool = False):
        self.dir = tmp_path
        self.path = tmp_path / "sweep.py"
        self.log = tmp_path / "calls.log"
        self.fixed = tmp_path / "fixed"
        if fixed:
            self.fixed.touch()
        self.write(extra)
        self.run("sow")
        self.crop = str(tmp_path / ".xyz-c")

    def write(self, extra: str) -> None:
        self.path.write_text(SCRIPT.format(extra=extra))

    def run(self, what: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(self.path), str(self.dir), str(self.log)]
        done = subprocess.run(
            [*argv, str(self.fixed), what], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done

    def xsweep(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "xsweep", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def calls(self) -> list[int]:
        return [int(n) for n in self.log.read_text().split()]

    def failures(self) -> dict[int, tuple[str, float]]:
        crop = xsweep.Crop(name="c", parent_dir=self.dir)
        return {f.combo["n"]: (f.exc_type, f.start) for f in crop.failures()}


def test_retry_runs_failed_combos_supervised_a_crash_or_hang_is_recorded_again(
    tmp_path: Path,
):
    script = Script(tmp_path)
    grown = script.xsweep("grow", script.crop, "--combo-time-limit", "0.5")
    assert grown.returncode == EXIT_FAILED, grown.stderr
    first = script.failures()
    assert {n: t for n, (t, _) in first.items()} == {
        3: "ProcessDied",
        4: "TimeLimitExceeded",
    }
    # the crash and the hang are rerun, and recorded again, as grow does
    retried = script.xsweep("retry", script.crop, "--combo-time-limit", "0.5")
    assert retried.returncode == EXIT_FAILED, retried.stderr
    assert "retried 2 failed combo(s)" in retried.stdout
    assert "2 still fail" in retried.stdout
    assert "time limit" not in retried.stderr  # the limit was given again
    again = script.failures()
    assert {n: t for n, (t, _) in again.items()} == {
        3: "ProcessDied",
        4: "TimeLimitExceeded",
    }
    assert all(again[n][1] > first[n][1] for n in (3, 4))  # run again, not kept
    assert sorted(script.calls()) == [0, 1, 2, 3, 3, 4, 4, 5]  # only them
    # crop.retry_failed takes the same options, and survives the crash too
    done = script.run("retry")
    assert done.stdout.split() == ["failed", "2"]
    assert sorted(script.calls()) == [0, 1, 2, 3, 3, 3, 4, 4, 4, 5]
    # fixed: a retry without a limit says so, and completes the crop
    script.fixed.touch()
    fixed = script.xsweep("retry", script.crop)
    assert fixed.returncode == EXIT_OK, fixed.stderr
    assert "1 of the combos failed on a time limit" in fixed.stderr
    assert "0 still fail" in fixed.stdout
    reaped = xsweep.Crop(name="c", parent_dir=tmp_path).reap()
    assert list(reaped) == [0, 2, 4, 6, 8, 10]


def test_retry_adopt_code_refuses_a_function_saved_by_value_running_nothing(
    tmp_path: Path,
):
    # no crash, no hang: only n=1 fails
    script = Script(tmp_path, "if n == 1:\n        raise ValueError(n)", fixed=True)
    grown = script.xsweep("grow", script.crop)
    assert grown.returncode == EXIT_FAILED, grown.stderr
    before = script.failures()
    assert set(before) == {1}
    calls = script.calls()
    script.write("pass")  # the fix, in the script
    refused = script.xsweep("retry", script.crop, "--adopt-code")
    assert refused.returncode == EXIT_USAGE
    err = refused.stderr
    assert "'f'" in err and "defined in a script or notebook" in err
    assert "cannot read a fixed version" in err and "Nothing was run" in err
    assert "crop.retry_failed(fn=fixed_function)" in err
    assert "keep_old_code=True" in err
    assert refused.stdout == ""
    assert script.calls() == calls and script.failures() == before  # nothing ran
    # the advice works: from Python, with the fixed function
    assert script.run("adopt").stdout.splitlines()[-1] == "failed 0"
    reaped = xsweep.Crop(name="c", parent_dir=tmp_path).reap()
    assert list(reaped) == [0, 2, 4, 6, 8, 10]


def test_failures_from_labels_that_do_not_fit_say_sow_again_not_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    # one var_name for a function returning two values
    namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_retry_fns"}
    log = tmp_path / "calls.log"
    exec(
        textwrap.dedent(f"""
        def both(x):
            with open({str(log)!r}, "a") as out:
                out.write(f"{{x}}\\n")
            return x, 2 * x
        """),
        namespace,
    )
    fn = namespace["both"]
    crop = xsweep.Runner(fn, var_names="s").Crop(name="lab", parent_dir=tmp_path)
    crop.sow_combos({"x": [1, 2, 3]}, verbosity=0)
    crop.grow()
    assert len(crop.failures()) == 3 and len(log.read_text().split()) == 3
    sow_again = "Sow the same combos again with labels that fit"
    # status: text and HTML
    capsys.readouterr()
    main(["status", crop.location])
    out = capsys.readouterr().out
    assert "3 combos failed" in out and sow_again.lower() in out.lower()
    assert "xsweep retry" not in out
    html = render_html(crop.status())
    assert sow_again.lower() in html.lower() and "retry_failed()" not in html
    # retry: nothing is run, and it says what to do instead
    assert main(["retry", crop.location]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "the labels do not fit the outputs" in err and sow_again in err
    assert "Nothing was rerun" in err
    with pytest.raises(OutputMismatchError, match=sow_again):
        crop.retry_failed()
    assert len(log.read_text().split()) == 3  # no combo ran again
    # ... and the advice works
    right = xsweep.Runner(fn, var_names=["s", "t"]).Crop(
        name="lab", parent_dir=tmp_path
    )
    assert right.sow_combos({"x": [1, 2, 3]}, verbosity=0).to_compute == 3
    right.grow()
    assert main(["status", crop.location]) == EXIT_OK
    assert "rerun them" not in capsys.readouterr().out


def test_status_of_ordinary_failures_says_retry_in_both_pictures(tmp_path: Path):
    namespace: dict[str, Any] = {"__name__": "xsweep_test_cli_retry_fns"}
    exec("def inv(x):\n    return 1 / x\n", namespace)
    crop = xsweep.Crop(fn=namespace["inv"], name="inv", parent_dir=tmp_path)
    crop.sow_combos({"x": [0, 1]}, verbosity=0)
    crop.grow()
    html = render_html(crop.status())
    assert "rerun them with: crop.retry_failed()" in html
    assert "labels" not in html
