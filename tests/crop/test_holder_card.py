"""A claim is one link to the grower's holder card, written once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from xsweep.crop import claims
from xsweep.crop.crop import Crop
from xsweep.crop.layout import CropLayout


def test_claims_link_to_one_card_which_is_rewritten_if_removed(tmp_path):
    names = [tmp_path / f"b{i}.ab.claim" for i in (1, 2, 3)]
    tokens = [claims.try_claim(names[0]), claims.try_claim(names[1])]
    assert tokens[0] and tokens[0] == tokens[1]
    card = claims.card_for(str(tmp_path))
    assert {n.stat().st_ino for n in names[:2]} == {os.stat(card.path).st_ino}
    holder = claims.read_claim(names[0])
    assert (holder["pid"], holder["token"]) == (os.getpid(), tokens[0])
    assert claims.try_claim(names[0]) is None  # held: nothing written
    os.unlink(card.path)  # removed from under us (by a clean on another host)
    assert claims.try_claim(names[2]) == tokens[0]
    assert os.stat(names[2]).st_ino == os.stat(card.path).st_ino
    assert claims.read_claim(names[1])["token"] == tokens[0]  # still valid
    for name in names:
        claims.release(name, tokens[0])
    assert not any(n.exists() for n in names)


def test_a_dead_growers_card_and_claims_are_cleaned_a_live_one_kept(tmp_path):
    crop = Crop(fn=lambda x: x, parent_dir=tmp_path, name="cards")
    crop.sow_combos({"x": [1, 2, 3]})
    layout = CropLayout(Path(crop.location))
    claim = layout.claim_file(1, crop._read_sow().fingerprint(1))
    code = (
        "import os; from xsweep.crop import claims; "
        f"assert claims.try_claim({str(claim)!r}); os._exit(0)"  # no atexit
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    (dead_card,) = [p for p in layout.list_debris() if p.name.startswith("holder")]
    live = claims.try_claim(layout.claim_file(2, crop._read_sow().fingerprint(2)))
    live_card = claims.card_for(str(layout.claims_dir)).path
    done = subprocess.run(
        [sys.executable, "-m", "xsweep", "clean", str(crop.location)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not dead_card.exists() and not claim.exists()
    assert os.path.exists(live_card) and len(layout.list_claims()) == 1
    claims.release(layout.claim_file(2, crop._read_sow().fingerprint(2)), live)
