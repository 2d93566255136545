"""Growing with local workers: one thread per worker here, each with its child.

Each worker is a :class:`~xsweep.crop.grow.Grower` pulling batches in a thread
of this process, its function running in a supervised child process (see
:mod:`xsweep.crop.supervised`). Claims, heartbeats and writes stay here, so:

- SIGTERM or Ctrl-C stops every worker within seconds: children are killed,
  finished results written, claims released, and no process is left behind
  (then SIGTERM ends this process as it would have, see
  :mod:`xsweep.engine.stopping`);
- a combo that kills its worker's process is a failure of that combo; the
  worker goes on with a new child.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .grow import GrowReport
from .supervised import Stopped, Supervision

#: seconds the workers get to write and release once told to stop
STOP_GRACE = 10.0


def grow_locally(
    crop: Any, supervisions: list[Supervision], deadline: Any = None
) -> GrowReport:
    """Grow the missing batches of ``crop`` with one worker per supervision.

    With a ``deadline`` (a :class:`~xsweep.crop.deadline.Deadline`), each
    worker claims only batches that fit before it, and the workers still
    computing when it passes are stopped (their batches released).
    """
    from ..engine.stopping import stopping_workers
    from .deadline import resolve

    growers = [crop._grower(supervision=s) for s in supervisions]
    for g in growers:
        g.deadline = resolve(deadline)
    growers[0].measure_crop()
    for g in growers[1:]:
        g.deadline.longest = growers[0].deadline.longest
    end = growers[0].deadline.end
    passed = False
    reports = [GrowReport() for _ in growers]
    errors: list[BaseException] = []
    done = [threading.Event() for _ in growers]

    def work(k: int) -> None:
        try:
            growers[k].pull(reports[k])
        except Stopped:
            pass
        except BaseException as exc:
            errors.append(exc)
            for g in growers:  # one worker's error stops them all
                g.abort()
        finally:
            done[k].set()

    threads = [
        threading.Thread(target=work, args=(k,), name=f"xsweep-worker-{k}")
        for k in range(len(growers))
    ]

    def stop() -> None:  # SIGTERM, Ctrl-C: stop the workers, let them write
        for g in growers:
            g.abort()
        deadline = time.monotonic() + STOP_GRACE
        for event in done:
            event.wait(max(0.0, deadline - time.monotonic()))

    with stopping_workers(stop):
        for t in threads:
            t.start()
        for event in done:
            # not Thread.join: a signal interrupting it can mark a running
            # thread as stopped (Python 3.11), and the process would exit
            # under it
            while not event.wait(0.2 if end is None else 0.05):
                if end is not None and not passed and time.time() >= end:
                    passed = True  # a batch ran past the deadline: stop
                    for g in growers:
                        g.abort()
    for t in threads:
        t.join()
    real = [e for e in errors if not isinstance(e, Stopped)]
    if real:
        raise real[0]
    report = GrowReport()
    for r in reports:
        report.merge(r)
    if passed:
        report.stopped = (
            f"the deadline ({growers[0].deadline.source}) passed while batches "
            "were being grown: they were released, unfinished"
        )
    return report
