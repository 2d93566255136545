"""Job options are parsed in one place and bad values never reach a scheduler."""

from __future__ import annotations

import datetime

import pytest

from xsweep.errors import SchedulerError
from xsweep.schedulers.options import (
    format_hms,
    parse_memory,
    parse_options,
    parse_time,
)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("2:00:00", 7200),  # xyzpy once read this as 20 hours
        ("0:30:00", 1800),
        ("48:00:00", 172800),
        ("1-12:00:00", 129600),
        ("0:00:01", 1),
        (datetime.timedelta(hours=1, minutes=1), 3660),
    ],
)
def test_time_strings(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize(
    "bad", ["2", "2:00", "1:60:00", "abc", "-1:00:00", "0:00:00", 5]
)
def test_bad_time_is_refused_with_the_accepted_forms(bad):
    with pytest.raises(SchedulerError, match="time"):
        parse_time(bad)


def test_time_from_numbers():
    assert parse_options(hours=1.5).time == 5400
    assert parse_options(minutes=90).time == 5400
    assert parse_options(days=1, hours=2).time == 93600
    with pytest.raises(SchedulerError, match="not both"):
        parse_options(time="1:00:00", hours=1)
    with pytest.raises(SchedulerError, match="hours"):
        parse_options(hours="two")


@pytest.mark.parametrize(
    "value, mb",
    [
        (4, 4096),
        (0.5, 512),
        ("500M", 500),
        ("4G", 4096),
        ("1.5GB", 1536),
        ("2GiB", 2048),
        ("1T", 1048576),
        ("100mb", 100),
    ],
)
def test_memory(value, mb):
    assert parse_memory(value) == mb


@pytest.mark.parametrize("bad", ["lots", "4X", -1, 0, True, "G"])
def test_bad_memory_is_refused(bad):
    with pytest.raises(SchedulerError, match="mem"):
        parse_memory(bad)


def test_threads_default_to_cpus_and_counts_are_checked():
    opts = parse_options(cpus=4)
    assert (opts.cpus, opts.threads) == (4, 4)
    assert parse_options(cpus=4, threads=1).threads == 1
    assert parse_options(cpus_per_task=3).cpus == 3
    for bad in (
        {"cpus": 0},
        {"cpus": 1.5},
        {"gpus": -1},
        {"nodes": "two"},
        {"max_running": 0},
        {"threads": True},
    ):
        with pytest.raises(SchedulerError, match=next(iter(bad))):
            parse_options(**bad)


def test_unknown_option_suggests_the_right_one():
    with pytest.raises(SchedulerError, match="did you mean 'partition'"):
        parse_options(partiton="short")


def test_aliases_and_conflicts():
    assert parse_options(queue="short").partition == "short"
    assert parse_options(project="p1").account == "p1"
    with pytest.raises(SchedulerError, match="twice"):
        parse_options(queue="a", partition="b")
    with pytest.raises(SchedulerError, match="not both"):
        parse_options(mem="1G", mem_per_cpu="1G")


def test_none_values_mean_unset():
    opts = parse_options(time=None, mem=None, partition=None, account=None, gpus=None)
    assert opts.time is None and opts.mem_mb is None and opts.partition is None


def test_text_options():
    opts = parse_options(
        shell_setup="module load python\n\nsource env/bin/activate",
        header_lines=["--qos=high"],
        python_setup="import os\nos.environ['X'] = '1'",
        launcher=["mpiexec", "-n", "4"],
    )
    assert opts.shell_setup == ("module load python", "source env/bin/activate")
    assert opts.launcher == "mpiexec -n 4"
    with pytest.raises(SchedulerError, match="not valid Python"):
        parse_options(python_setup="import (")
    with pytest.raises(SchedulerError, match="job name"):
        parse_options(name="my job")
    with pytest.raises(SchedulerError, match="partition"):
        parse_options(partition="")


def test_format_hms():
    assert format_hms(7200) == "02:00:00"
    assert format_hms(129600) == "36:00:00"
    assert format_hms(129600, days=True) == "1-12:00:00"
    assert format_hms(59) == "00:00:59"


def test_xyzpy_option_names_are_understood():
    opts = parse_options(
        num_procs=4, num_threads=2, gigabytes=8, setup="import os",
        conda_env="sci", shell_setup="module load x", launcher="mpiexec -n 4 python3",
    )  # fmt: skip
    assert (opts.cpus, opts.threads, opts.mem_mb) == (4, 2, 8192)
    assert opts.python_setup == "import os"
    assert opts.shell_setup[0].endswith("conda activate sci")
    assert opts.shell_setup[1] == "module load x"
    assert (opts.launcher, opts.python) == ("mpiexec -n 4", "python3")
    assert parse_options(launcher="python").launcher == ""
    assert parse_options(launcher="srun").launcher == "srun"
