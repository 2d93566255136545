"""The crop progress pictures: text for ``xsweep status``, HTML for notebooks."""

from __future__ import annotations

import html.parser
import subprocess
import sys
from dataclasses import dataclass, field

from xsweep.crop.render import describe_failure, render_html, render_text
from xsweep.crop.waiting import WaitProgress
from xsweep.engine.failures import make_failure


def failure(combo: dict, exc: BaseException):
    """A real engine ``Failure`` record, from a real raised exception."""
    try:
        raise exc
    except BaseException as caught:
        return make_failure(0, combo, caught, start=1000.0, end=1000.5)


@dataclass
class FakeStatus:
    """Same attributes as ``xsweep.crop.status.CropStatus``."""

    name: str = "sweep"
    location: str = "/tmp/.xsweep-sweep"
    num_batches: int = 20
    pending: int = 6
    claimed: int = 2
    done: int = 10
    failed: int = 2
    failed_combos: int = 3
    failures: list = field(default_factory=list)
    batch_durations: list = field(default_factory=lambda: [0.5] * 10)
    first_start: float | None = 1000.0
    last_finish: float | None = 1006.0
    stale_claims: int = 0
    sown: bool = True
    reaped: bool = False
    num_combos: int = 200


def test_text_has_a_bar_per_state_sized_by_its_count():
    text = render_text(FakeStatus(), width=20)
    bars = {}
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in ("pending", "claimed", "done", "failed"):
            bars[words[0]] = (words[1].count("\u2588"), int(words[-2]), words[-1])
    assert bars == {
        "pending": (6, 6, "30.0%"),
        "claimed": (2, 2, "10.0%"),
        "done": (10, 10, "50.0%"),
        "failed": (2, 2, "10.0%"),
    }


def test_text_estimates_time_left_from_wall_clock_throughput():
    # 10 done + 2 failed batches in 6 s of wall-clock -> 2 batches/s;
    # 6 pending + 2 claimed left -> 4 s.
    text = render_text(FakeStatus())
    assert "20 batches, 200 combos" in text
    assert "2 batches/s" in text
    assert "mean batch 0.5 s" in text
    assert "about 4.0 s left" in text


def test_text_with_one_done_batch_uses_its_duration():
    status = FakeStatus(
        pending=17,
        claimed=0,
        done=1,
        failed=0,
        failed_combos=0,
        batch_durations=[30.0],
        first_start=None,
        last_finish=None,
    )
    assert "about 8 min 30 s left" in render_text(status)


def test_text_before_any_batch_finishes_says_there_is_no_estimate():
    status = FakeStatus(
        pending=20,
        claimed=0,
        done=0,
        failed=0,
        failed_combos=0,
        batch_durations=[],
        first_start=None,
        last_finish=None,
    )
    text = render_text(status)
    assert "no estimate" in text
    assert "left at that rate" not in text


def test_text_lists_latest_failures_with_combo_and_message():
    failures = [
        (b, failure({"a": b, "b": "x"}, ValueError(f"bad {b}\nsecond line")))
        for b in range(1, 9)
    ]
    text = render_text(FakeStatus(failures=failures))
    rerun = "(rerun them with: xsweep retry /tmp/.xsweep-sweep)"
    assert f"3 combos failed, in 2 batches {rerun}" in text
    assert "batch 8, a=8, b='x': ValueError: bad 8" in text
    assert "batch 3," not in text  # only the five latest
    assert "second line" not in text


def test_text_of_a_finished_crop_says_complete_and_ascii_works():
    status = FakeStatus(pending=0, claimed=0, done=20, failed=0, failed_combos=0)
    text = render_text(status, ascii=True)
    assert "complete, mean batch 0.5 s" in text
    assert "#" * 30 in text
    assert not any(ord(c) > 127 for c in text)


def test_unsown_crop_and_stale_claims_are_said_plainly():
    unsown = FakeStatus(
        num_batches=0, pending=0, claimed=0, done=0, failed=0, sown=False
    )
    assert render_text(unsown).endswith(": not sown yet")
    assert "not sown yet" in render_html(unsown)
    text = render_text(FakeStatus(stale_claims=3, reaped=True))
    assert "20 batches, 200 combos, reaped" in text
    assert "3 stale claims (grower dead or silent)" in text


def test_failure_records_may_be_mappings():
    failure = {
        "batch_id": 4,
        "combo": {"x": 1.5},
        "exception": "KeyError",
        "message": "'k'",
    }
    assert describe_failure(failure) == "batch 4, x=1.5: KeyError: 'k'"


class _Checker(html.parser.HTMLParser):
    """Checks that every opened tag is closed, in order."""

    VOID = {"br", "hr", "img", "meta"}

    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_well_formed_and_escapes_messages():
    failures = [(5, failure({"s": "<b>"}, RuntimeError("<script>x</script>")))]
    out = render_html(FakeStatus(failures=failures))
    assert "<script>" not in out
    checker = _Checker()
    checker.feed(out)
    assert checker.stack == []
    text = " ".join(checker.text)
    failed = "3 combos failed, in 2 batches"
    for word in ("pending", "claimed", "done", "failed", failed):
        assert word in text
    assert "RuntimeError: <script>x</script>" in text
    assert "width:50.000%" in out  # the done segment


def test_render_imports_no_xarray_pandas_or_matplotlib():
    code = (
        "import sys, xsweep.crop.render; "
        "print(sorted(m for m in ('xarray', 'pandas', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_wait_progress_shows_grown_batches_and_closes(capsys):
    counts = iter([3, 1, 0])
    with WaitProgress(4, "waiting for 'c'") as progress:
        count = progress.counting(lambda: next(counts))
        assert [count(), count(), count()] == [3, 1, 0]
        assert progress._bar.n == 4
    err = capsys.readouterr().err
    assert "waiting for 'c'" in err and "4/4" in err


def test_wait_progress_shows_nothing_when_nothing_is_missing(capsys):
    with WaitProgress(4) as progress:
        assert progress.counting(lambda: 0)() == 0
    assert capsys.readouterr().err == ""
