# Shared by local-cluster.sh and multinode-cluster.sh (sourced, not run).

# The slurm.conf settings both test clusters use, for state directory $1:
# the plugins known to work on these machines (no cgroups: linuxproc
# tracking, no task plugin), short timeouts so failure tests finish quickly,
# a node that returns by itself, and no accounting.
slurm_common_settings() {
  local dir="$1"
  cat <<EOF2
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
SlurmdTimeout=10
SlurmctldTimeout=10
KillWait=5
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
EOF2
}

# Starts munged for state directory $1 unless it runs: its own key (made on
# first use), socket, pid, log and seed files. One munged serves every
# daemon of a cluster, in any network namespace: its socket is a file.
start_munged() {
  local dir="$1"
  mkdir -p "$dir/munge" "$dir/log"
  chmod 0700 "$dir" "$dir/munge"
  [ -s "$dir/munge/munge.key" ] || {
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$dir/munge/munge.key"
  }
  [ -s "$dir/munge/munged.pid" ] && kill -0 "$(cat "$dir/munge/munged.pid")" 2>/dev/null && return 0
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
}
