#!/usr/bin/env bash
# A multi-node Slurm cluster on one machine, for tests: a controller and 2-3
# nodes, each in its own Linux network namespace joined by a bridge
# (10.77.0.0/24). The namespaces have no link to the host's network, so
# nothing can leave the machine; tests only ever address the nodes' own
# addresses. Each daemon runs in a private mount namespace with its own
# /etc/hosts and /tmp (Slurm's PMIx and OpenMPI put per-job files in /tmp,
# which would collide between nodes sharing it) and its own host name.
#
#   slurm/multinode-cluster.sh up [NODES]   # idempotent; NODES 2 or 3 (default 3)
#   slurm/multinode-cluster.sh down          # removes everything it created
#   slurm/multinode-cluster.sh status
#   slurm/multinode-cluster.sh exec CMD...   # run a client (sbatch, srun, squeue) in the controller's network
#   slurm/multinode-cluster.sh env           # SLURM_CONF and the MPI settings for the bridge
# Failure injection, behaving like the real thing:
#   kill-node N      SIGKILL every process in node N's namespace (a crashed node)
#   partition N      take node N's link down (a hung node: MPI hangs, Slurm reports NODE_FAIL)
#   heal N           bring node N's link back up
#   kill-slurmd N    stop node N's slurmd (Slurm marks the node down after SlurmdTimeout)
#   restart-node N   start node N's slurmd again (after kill-node or kill-slurmd)
#   node-exec N CMD...  run CMD inside node N (its network, mount, UTS and pid namespaces)
#
# Each node has its own pid namespace too (`unshare --pid --fork
# --mount-proc`, with a shell as its init that reaps orphans), as real nodes
# have: a pid recorded on one node then means nothing on another, which
# nodes sharing the host's pids would hide. BEAMFLOW_MULTINODE_PIDNS=0 at
# `up` leaves the host's.
# State lives in BEAMFLOW_MULTINODE_DIR (default /var/tmp/beamflow-multinode-$UID;
# not under /tmp, which each daemon replaces with its own). Every node sees
# the host's file systems except /tmp, like a cluster's shared file system;
# a checkout under /tmp, and the paths in BEAMFLOW_MULTINODE_SHARED (colon
# separated; a build tree or binary elsewhere under /tmp), are bound into
# each node's /tmp at their own paths at `up`. Needs root and
# network namespaces; `up` says clearly when the machine cannot create them.
set -euo pipefail
. "$(dirname "$0")/common.sh"

dir="${BEAMFLOW_MULTINODE_DIR:-/var/tmp/beamflow-multinode-$(id -u)}"
prefix="${BEAMFLOW_MULTINODE_PREFIX:-bfmn}"
net="10.77.0"
conf="$dir/slurm.conf"
ctl_ns="$prefix-ctl"

die() { echo "multinode-cluster: $*" >&2; exit 1; }
node_ns() { echo "$prefix-n$1"; }
nodes_up() { cat "$dir/nodes" 2>/dev/null || echo 0; }

# Runs a daemon (or a client) in namespace $1 with the private hosts file and
# /tmp of host name $2. nsenter + unshare, not `ip netns exec`: the latter
# remounts /sys and hides the cgroup filesystem, and slurmd dies.
# The directories in $dir/shared (written by `up`) are bound at their own
# paths inside the private /tmp, before it hides the host's: they are the
# cluster's "parallel file system" that happens to live under /tmp (a
# checkout cloned there by CI, its build tree), which real nodes would see.
in_ns() {
  local ns="$1" host="$2"; shift 2
  mkdir -p "$dir/tmp/$host"
  nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation private sh -c '
    mount --bind "$1" /etc/hosts || exit 1
    while IFS= read -r p; do
      [ -n "$p" ] || continue
      mkdir -p "$2/${p#/tmp/}" && mount --bind "$p" "$2/${p#/tmp/}" || exit 1
    done <"$4"
    mount --rbind "$2" /tmp && hostname "$3" && shift 4 && exec "$@"' \
    sh "$dir/hosts" "$dir/tmp/$host" "$(host_name "$host")" "$dir/shared" "$@"
}

# shared_dirs PATH...: for each path under /tmp, the directory directly under
# /tmp that holds it (a checkout and its build tree usually share one), once.
shared_dirs() {
  local p top
  for p in "$@"; do
    [ -n "$p" ] || continue
    case "$p" in /tmp/?*) ;; *) continue ;; esac
    top="${p#/tmp/}"; top="/tmp/${top%%/*}"
    [ -d "$top" ] || die "shared directory $top (from $p) does not exist"
    echo "$top"
  done | sort -u
}

# The host name of Slurm's node $1: the same name, unless the cluster was
# brought up with BEAMFLOW_MULTINODE_HOST_PREFIX (node2's host is then, say,
# nid2: a cluster whose host names differ from its Slurm node names).
host_name() {
  local p
  p=$(cat "$dir/host-prefix" 2>/dev/null || true)
  case "$1" in node*) [ -n "$p" ] && { echo "$p${1#node}"; return; } ;; esac
  echo "$1"
}

# A node's daemon: in_ns, in a pid namespace of its own when the cluster has
# them. Its init is a shell that runs the daemon and reaps the orphans
# re-parented to it (a supervisor's double fork) until the daemon ends; the
# daemon is never pid 1 (a signal to it must not end the whole node).
in_node() {
  local ns="$1" host="$2"; shift 2
  if [ -e "$dir/pidns" ]; then
    in_ns "$ns" "$host" unshare --pid --fork --mount-proc sh -c '
      "$@" & d=$!
      while kill -0 "$d" 2>/dev/null; do wait 2>/dev/null || sleep 1; done' sh "$@"
  else
    in_ns "$ns" "$host" "$@"
  fi
}

# The host pid of node N's slurmd, if it runs (its pid file holds the pid in
# the node's own namespace when the nodes have pid namespaces).
slurmd_pid() {
  local p
  for p in $(ip netns pids "$(node_ns "$1")" 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmd ] && { echo "$p"; return 0; }
  done
  return 1
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_files() {
  local n="$1" i
  {
    echo "127.0.0.1 localhost"
    echo "$net.1 ctl"
    for i in $(seq 1 "$n"); do echo "$net.1$i node$i$([ "$(host_name "node$i")" = "node$i" ] || echo " $(host_name "node$i")")"; done
  } >"$dir/hosts"
  cat >"$conf" <<EOF
# Generated by slurm/multinode-cluster.sh; lives and dies with $dir.
ClusterName=beamflow-multinode
SlurmctldHost=ctl($net.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.%n.log
$(slurm_common_settings "$dir")
EOF
  for i in $(seq 1 "$n"); do
    echo "NodeName=node$i NodeAddr=$net.1$i NodeHostname=$(host_name "node$i") CPUs=2 RealMemory=4096 State=UNKNOWN" >>"$conf"
  done
  echo "PartitionName=debug Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP" >>"$conf"
}

up() {
  local n="${1:-3}" i
  [[ "$n" =~ ^[23]$ ]] || die "NODES is 2 or 3, not '$n'"
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, SlurmUser=root)"
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || die "package $p is missing"
  done
  if [ "$(nodes_up)" != 0 ] && [ "$(nodes_up)" != "$n" ]; then die "up with $(nodes_up) nodes; run down first"; fi
  mkdir -p "$dir"/{state,spool,log,run,tmp}
  ip netns list | grep -qw "$ctl_ns" || {
    ip netns add "$ctl_ns" 2>/dev/null || die "this machine cannot create network namespaces (ip netns add failed)"
  }
  ip -n "$ctl_ns" link set lo up
  ip -n "$ctl_ns" link show br0 >/dev/null 2>&1 || {
    ip -n "$ctl_ns" link add br0 type bridge
    ip -n "$ctl_ns" addr add "$net.1/24" dev br0
  }
  ip -n "$ctl_ns" link set br0 up
  for i in $(seq 1 "$n"); do
    local ns; ns=$(node_ns "$i")
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ctl_ns" link show "v$i" >/dev/null 2>&1 || {
      ip -n "$ctl_ns" link add "v$i" type veth peer name eth0 netns "$ns"
      ip -n "$ns" addr add "$net.1$i/24" dev eth0
    }
    ip -n "$ctl_ns" link set "v$i" master br0 up
    ip -n "$ns" link set eth0 up
  done
  echo "$n" >"$dir/nodes"
  local extra=()
  IFS=: read -ra extra <<<"${BEAMFLOW_MULTINODE_SHARED:-}"
  shared_dirs "$(cd "$(dirname "$0")/.." && pwd)" "${extra[@]}" >"$dir/shared"
  [ "${BEAMFLOW_MULTINODE_PIDNS:-1}" = 1 ] && touch "$dir/pidns"
  [ -z "${BEAMFLOW_MULTINODE_HOST_PREFIX:-}" ] || echo "$BEAMFLOW_MULTINODE_HOST_PREFIX" >"$dir/host-prefix"
  write_files "$n"
  start_munged "$dir"
  alive "$dir/run/slurmctld.pid" || {
    in_ns "$ctl_ns" ctl slurmctld -D -f "$conf" >>"$dir/log/slurmctld.out" 2>&1 &
    echo $! >"$dir/run/slurmctld.launcher.pid"
  }
  for i in $(seq 1 "$n"); do start_slurmd "$i"; done
  # Each look is bounded and the controller's exit ends the wait: without a
  # controller every Slurm command retries for MessageTimeout (10 s).
  local deadline=$((SECONDS + 60)) launcher
  launcher=$(cat "$dir/run/slurmctld.launcher.pid" 2>/dev/null || true)
  while ((SECONDS < deadline)); do
    if [ -n "$launcher" ] && ! kill -0 "$launcher" 2>/dev/null; then
      die "slurmctld stopped: $(grep -h 'fatal:' "$dir/log/slurmctld.log" "$dir/log/slurmctld.out" 2>/dev/null | tail -1) (see $dir/log/)"
    fi
    if [ "$(client timeout 5 sinfo -h -o %t 2>/dev/null | grep -cE '^(idle|mix|alloc)')" -ge 1 ] &&
      [ "$(client timeout 5 sinfo -h -N -o %t 2>/dev/null | grep -cE '^(idle|mix|alloc)')" -eq "$n" ]; then
      echo "multinode-cluster: up ($n nodes: node[1-$n] at $net.11-$net.1$n, controller $net.1)"
      return 0
    fi
    sleep 0.2
  done
  client timeout 5 sinfo -N || true
  die "nodes did not become idle in 60 s; see $dir/log/"
}

start_slurmd() {
  local i="$1"
  mkdir -p "$dir/spool/node$i"
  slurmd_pid "$i" >/dev/null && return 0
  in_node "$(node_ns "$i")" "node$i" slurmd -D -N "node$i" -f "$conf" >>"$dir/log/slurmd.node$i.out" 2>&1 &
}

client() { in_ns "$ctl_ns" ctl env SLURM_CONF="$conf" "$@"; }

kill_ns() {  # SIGKILL every process whose network namespace is $1
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null || true)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
}

down() {
  local n i
  n=$(nodes_up)
  for i in $(seq 1 3); do ip netns list | grep -qw "$(node_ns "$i")" && kill_ns "$(node_ns "$i")"; done
  ip netns list | grep -qw "$ctl_ns" && kill_ns "$ctl_ns"
  alive "$dir/munge/munged.pid" && kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
  for i in $(seq 1 3); do ip netns del "$(node_ns "$i")" 2>/dev/null || true; done
  ip netns del "$ctl_ns" 2>/dev/null || true
  rm -rf "$dir"
  echo "multinode-cluster: down"
}

status() {
  [ -f "$conf" ] || { echo "multinode-cluster: down"; return 1; }
  client sinfo -N
}

node_arg() {
  [[ "${1:-}" =~ ^[1-3]$ ]] && [ "$1" -le "$(nodes_up)" ] || die "no node '${1:-}' (up: $(nodes_up) nodes)"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) up "${1:-3}" ;;
  down) down ;;
  status) status ;;
  exec) client "$@" ;;
  env)
    echo "export SLURM_CONF=$conf"
    echo "export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=$net.0/24 OMPI_MCA_oob_tcp_if_include=$net.0/24"
    ;;
  kill-node) node_arg "${1:-}"; kill_ns "$(node_ns "$1")" ;;
  kill-slurmd) node_arg "${1:-}"; p=$(slurmd_pid "$1") && kill -9 "$p" ;;
  node-exec)
    node_arg "${1:-}"; p=$(slurmd_pid "$1") || die "node $1's slurmd does not run"; shift
    if [ -e "$dir/pidns" ]; then
      # The namespaces of slurmd's parent, the node's init (slurmd's own
      # pid namespace would do too; its mount namespace has the node's /proc).
      exec nsenter --target "$p" --net --mount --uts --pid "$@"
    fi
    exec nsenter --target "$p" --net --mount --uts "$@"
    ;;
  restart-node) node_arg "${1:-}"; start_slurmd "$1" ;;
  partition) node_arg "${1:-}"; ip -n "$ctl_ns" link set "v$1" down ;;
  heal) node_arg "${1:-}"; ip -n "$ctl_ns" link set "v$1" up ;;
  *) die "usage: $0 up [2|3] | down | status | exec CMD... | env | kill-node N | partition N | heal N | kill-slurmd N | restart-node N | node-exec N CMD..." ;;
esac
