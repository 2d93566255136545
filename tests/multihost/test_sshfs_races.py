"""Lost claim races on sshfs, for real: sftp reports an existing name as
EPERM (or EEXIST, or a cached view says so) and gives every name of a file
its own inode number; claims are told apart by content, so each name has one
winner and no process fails on a race it lost."""

from __future__ import annotations

import json

import pytest
from hosts import PY

pytestmark = pytest.mark.timeout(120)

RACE = """
import json, sys
from xsweep.crop import claims
base, n = sys.argv[1], int(sys.argv[2])
won = [i for i in range(n) if claims.try_claim(f"{base}/b{i}.ab.claim")]
print(json.dumps(won))
"""


def test_racing_claims_across_hosts_have_one_winner_and_no_error(server, hosts):
    claims_dir = server.export / "race"
    claims_dir.mkdir()
    n = 150
    pair = hosts("race1", "race2")
    procs = [
        host.start([PY, "-c", RACE, f"{host.mount}/race", str(n)])
        for host in pair
        for _ in range(2)
    ]
    ends = [p.finish(timeout=100) for p in procs]
    for code, _, err in ends:
        assert code == 0, err  # never "Operation not permitted"
    wins = [json.loads(out) for _, out, _ in ends]
    assert sorted(i for w in wins for i in w) == list(range(n))  # one winner each
    for i in range(n):  # and the claim is the winner's card
        claim = json.loads((claims_dir / f"b{i}.ab.claim").read_bytes().split(b"\n")[0])
        (winner,) = [k for k, w in enumerate(wins) if i in w]
        assert claim["host"] == pair[winner // 2].name


def test_every_name_of_a_file_has_its_own_inode_on_sshfs(server, hosts):
    # why link_exclusive never compares inodes: this is what sshfs shows
    (host,) = hosts("inodes")
    (server.export / "one").write_text("x")
    code = (
        "import os, sys; m = sys.argv[1]; os.link(m + '/one', m + '/two'); "
        "print(os.stat(m + '/one').st_ino != os.stat(m + '/two').st_ino)"
    )
    done = host.run([PY, "-c", code, str(host.mount)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
