#!/bin/bash
# Stop the Grid Engine started by sge_up.sh (root).
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
qconf -ke all || true     # execd(s)
qconf -km || true         # qmaster
. "$(cd "$(dirname "$0")" && pwd)/wait_gone.sh"; wait_gone sge_qmaster sge_execd
