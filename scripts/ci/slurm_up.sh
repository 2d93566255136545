#!/bin/bash
# Bring up a real single-node SLURM cluster on 127.0.0.1 from Debian 12 packages (root, no
# systemd, no cgroups): munged, slurmctld, slurmd. Adapted from ../shared/schedulers/.
# Pitfalls: the node line must come from `slurmd -C` (it carries RealMemory, else every
# --mem request is refused); `scontrol shutdown` leaves pid files behind (slurm_down.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/apt_install.sh" slurmctld slurmd slurm-client munge

# munge: Debian's postinst generated /etc/munge/munge.key
if [ ! -s /etc/munge/munge.key ]; then
  mungekey -c -k /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
munge -n >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged

install -d -o slurm -g slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
NODELINE=$(slurmd -C | head -1)   # "NodeName=<host> CPUs=2 ... RealMemory=24105"
HOST=$(hostname -s)
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=xsweepci
SlurmctldHost=${HOST}(127.0.0.1)
AuthType=auth/munge
SlurmUser=slurm
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
MinJobAge=300
MaxArraySize=1001
KillWait=5
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# -c: start clean, without jobs saved by an earlier controller on this machine
/usr/sbin/slurmctld -c
/usr/sbin/slurmd
for _ in $(seq 1 120); do
  sinfo -h -o %T 2>/dev/null | grep -qx idle && break
  sleep 0.5
done
sinfo
