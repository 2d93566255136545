#!/bin/bash
# Bring up a real single-host Son of Grid Engine 8.1.9 from Debian 12 packages (root, no
# systemd). Jobs must be submitted by a user with uid >= 1000 (min_uid): this script also
# creates the ordinary user `ciuser` for that. Adapted from ../shared/schedulers/.
# Pitfalls: task ids start at 1; the hostname must be aliased to localhost; qsub passes no
# environment unless asked (-V); stock SGE knows no `mem` resource (use h_vmem).
# Safe to run again on a machine where SGE was configured before.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/wait_gone.sh"  # running NAME
H=$(hostname); N=$(nproc)
for p in gridengine-common gridengine-master gridengine-client; do
  printf '%s shared/gridenginemaster string %s\n%s shared/gridenginecell string default\n%s shared/gridengineconfig boolean true\n' "$p" "$H" "$p" "$p"
done | debconf-set-selections
"$HERE/apt_install.sh" gridengine-master gridengine-exec gridengine-client
id ciuser >/dev/null 2>&1 || useradd -m -s /bin/bash ciuser
# (the master postinst ran init_cluster: SGE_ROOT=/var/lib/gridengine, cell "default", BDB spool)
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
C=$SGE_ROOT/$SGE_CELL/common
# SGE insists that the hostname the client sends equals what its IP reverse-resolves to.
# Here 127.0.0.1 -> "localhost" but hostname is "$H": declare them the same host.
[ "$H" = localhost ] || echo "$H localhost $(hostname -f 2>/dev/null || true)" > $C/host_aliases
echo "$H" > $C/act_qmaster
install -d -o sgeadmin -g sgeadmin /var/run/gridengine /var/spool/gridengine/execd
# a daemon left running (say, a qmaster whose execd died: queue state "u") is kept
running sge_qmaster || /usr/sbin/sge_qmaster
for i in $(seq 1 120); do qstat >/dev/null 2>&1 && break; sleep 0.25; done
# jobs left in the spool by an earlier run on this machine would hold the slots
qdel -f -u '*' >/dev/null 2>&1 || true
qconf -as "$H" 2>/dev/null || true   # submit host (master host is already an admin host)
T=$(mktemp -d)
printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' "$H" > $T/eh
qconf -Ae $T/eh 2>/dev/null || qconf -Me $T/eh   # -M: already configured on this machine
printf 'group_name @allhosts\nhostlist %s\n' "$H" > $T/hg
qconf -Ahgrp $T/hg 2>/dev/null || qconf -Mhgrp $T/hg
printf 'pe_name smp\nslots 9999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\nstop_proc_args NONE\nallocation_rule $pe_slots\ncontrol_slaves FALSE\njob_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n' > $T/pe
qconf -Ap $T/pe 2>/dev/null || qconf -Mp $T/pe
cat > $T/q <<EOF
qname all.q
hostlist @allhosts
seq_no 0
load_thresholds NONE
suspend_thresholds NONE
nsuspend 1
suspend_interval 00:05:00
priority 0
min_cpu_interval 00:05:00
processors UNDEFINED
qtype BATCH INTERACTIVE
ckpt_list NONE
pe_list smp
rerun FALSE
slots $N
tmpdir /tmp
shell /bin/bash
prolog NONE
epilog NONE
shell_start_mode unix_behavior
starter_method NONE
suspend_method NONE
resume_method NONE
terminate_method NONE
notify 00:00:60
owner_list NONE
user_lists NONE
xuser_lists NONE
subordinate_list NONE
complex_values NONE
projects NONE
xprojects NONE
calendar NONE
initial_state default
EOF
for r in s_rt h_rt s_cpu h_cpu s_fsize h_fsize s_data h_data s_stack h_stack s_core h_core s_rss h_rss s_vmem h_vmem; do echo "$r INFINITY" >> $T/q; done
qconf -Aq $T/q 2>/dev/null || qconf -Mq $T/q
# schedule every second instead of every 15 s
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' > $T/sc
qconf -Msconf $T/sc
rm -rf $T
running sge_execd || /usr/sbin/sge_execd
for i in $(seq 1 120); do qstat -f 2>/dev/null | grep -E "^all.q@$H +BIP +0/0/$N +[0-9.]+ +lx-amd64 *$" >/dev/null && break; sleep 0.25; done
qstat -f
echo "export SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL"
