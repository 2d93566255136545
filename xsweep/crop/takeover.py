"""Taking over batches held by growers whose heartbeat stopped.

A grower that finds nothing left to claim but batches held by others does not
exit at once (unless told not to wait): it watches those claims, leaves a
batch to a holder it sees beating, and grows a batch whose claim goes away,
whose holder is provably dead, or whose heartbeat does not move for the
heartbeat timeout of its own clock. So no work is left behind a frozen or dead
holder whose claim is not stale yet.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import claims
from .grow_report import GrowReport

if TYPE_CHECKING:
    from .grow import Grower


def take_over(grower: Grower, report: GrowReport, start: int) -> None:
    """Watch the claims of batches held by others (``report.held[start:]``).

    A batch whose claim goes away, or whose holder is provably dead, or
    whose heartbeat does not move for the heartbeat timeout is claimed and
    grown here; one whose holder is seen beating is left to it (it stays
    in ``report.held``); one grown meanwhile is ``skipped``. So a grower
    does not leave work behind a dead or frozen holder whose claim is not
    stale yet, and waits at most about one heartbeat interval for a live
    one, or one timeout for a dead one.
    """
    watching = list(dict.fromkeys(report.held[start:]))
    del report.held[start:]
    poll = min(1.0, claims.beat_interval(grower.timeout) / 2)
    while watching:
        if grower.sown_again():  # these batches are no longer wanted
            report.held.extend(watching)
            return
        deadline = getattr(grower, "deadline", None)
        if deadline is not None and not deadline.allows_another():
            report.stopped = deadline.reason  # no time left to wait and grow
            report.held.extend(watching)
            return
        for bid in list(watching):
            fp = grower.sow.fingerprint(bid)
            claim = grower.layout.claim_path(bid, fp)
            if grower.store.exists(bid, fp):
                report.skipped.append(bid)
                watching.remove(bid)
                continue
            state = claims.claim_state(claim, grower.timeout)
            if state in (claims.ALIVE, claims.OURS):
                report.held.append(bid)
                watching.remove(bid)
            elif state in (claims.GONE, claims.DEAD, claims.STALE):
                mine = GrowReport()
                grower._grow_each([bid], mine, precheck=True)
                report.merge(mine)
                watching.remove(bid)
                if mine.held:  # taken by another grower first: watch it
                    del report.held[-len(mine.held) :]
                    watching.append(bid)
        if watching:
            time.sleep(poll)
