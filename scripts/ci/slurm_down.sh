#!/bin/bash
# Stop the single-node SLURM cluster started by slurm_up.sh (root).
HERE=$(cd "$(dirname "$0")" && pwd)
scontrol shutdown || true                       # stops slurmctld and all slurmd
. "$HERE/wait_gone.sh"; wait_gone slurmctld slurmd
runuser -u munge -- /usr/sbin/munged --stop || true
wait_gone munged
# a stale /run/slurmctld.pid makes Debian's slurmctld prerm run scancel, failing `apt-get purge`
rm -f /run/slurmctld.pid /run/slurmd.pid
rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*   # forget job ids and state
