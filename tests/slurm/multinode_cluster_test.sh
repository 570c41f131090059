#!/usr/bin/env bash
# slurm/multinode-cluster.sh end to end: two nodes in their own network
# namespaces; a 2-node batch job runs a 4-rank mpirun over the bridge and an
# srun --mpi=pmix step (each node with its private /tmp); a crashed node is
# seen down by Slurm and comes back; `down` leaves no namespace, daemon or
# state behind. Side effects are counted in files. Exit 77 = skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/tests/slurm/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: network namespaces and SlurmUser=root need root"; exit 77; }
ip netns add bfmn-probe-$$ 2>/dev/null || { echo "SKIP: this machine cannot create network namespaces"; exit 77; }
ip netns del bfmn-probe-$$
export BEAMFLOW_MULTINODE_DIR="/var/tmp/beamflow-multinode-test-$$"
export BEAMFLOW_MULTINODE_PREFIX="bfmt$$"
cluster="$root/slurm/multinode-cluster.sh"
work="$(mktemp -d "$root/.multinode-test.XXXXXX")"   # shared by the nodes, like a parallel file system
cleanup() { "$cluster" down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
clean_up_if_killed "$cluster" down "$work"
fail() { echo "FAIL: $*"; "$cluster" exec sinfo -N 2>&1 || true; exit 1; }

"$cluster" up 2
cat >"$work/job.sh" <<JOB
#!/bin/bash
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --bind-to none --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
  --mca oob_tcp_if_include 10.77.0.0/24 sh -c 'touch $work/mpi.\$OMPI_COMM_WORLD_RANK.\$(hostname); touch /tmp/private.\$(hostname)'
srun --mpi=pmix sh -c 'touch $work/pmix.\$PMIX_RANK.\$(hostname); ls /tmp/private.* > $work/tmp-of.\$(hostname)'
JOB
job=$("$cluster" exec sbatch --parsable -N2 --ntasks-per-node=2 -o "$work/out.txt" "$work/job.sh")
for _ in $(seq 1 150); do
  state=$("$cluster" exec scontrol show job "$job" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
  sleep 0.2
done
[ "$state" = COMPLETED ] || fail "job ended $state: $(cat "$work/out.txt")"
[ "$(ls "$work"/mpi.* | wc -l)" -eq 4 ] || fail "mpirun did not run 4 ranks"
[ "$(ls "$work"/mpi.*.node1 | wc -l)" -eq 2 ] && [ "$(ls "$work"/mpi.*.node2 | wc -l)" -eq 2 ] || fail "ranks not 2 per node"
[ "$(ls "$work"/pmix.* | wc -l)" -eq 4 ] || fail "srun --mpi=pmix did not run 4 tasks"
# Each node sees only its own /tmp.
[ "$(cat "$work/tmp-of.node1")" = /tmp/private.node1 ] || fail "node1's /tmp is not private: $(cat "$work/tmp-of.node1")"

# A crashed node: Slurm notices (SlurmdTimeout=10 s), and it returns.
"$cluster" kill-node 2
t0=$SECONDS
until "$cluster" exec sinfo -h -n node2 -o %t | grep -q '\*\|down'; do
  ((SECONDS - t0 < 60)) || fail "node2 not seen down 60 s after it was killed"
  sleep 1
done
echo "crashed node seen down after $((SECONDS - t0)) s"
"$cluster" restart-node 2
until "$cluster" exec sinfo -h -n node2 -o %t | grep -qx 'idle'; do
  ((SECONDS - t0 < 120)) || fail "node2 did not return"
  sleep 1
done

"$cluster" down
! ip netns list | grep -q "$BEAMFLOW_MULTINODE_PREFIX" || fail "namespaces left behind"
[ ! -e "$BEAMFLOW_MULTINODE_DIR" ] || fail "state directory left behind"
! pgrep -f "$BEAMFLOW_MULTINODE_DIR" >/dev/null || fail "daemons left running"
echo "multinode cluster: 2 nodes, mpirun + srun --mpi=pmix across namespaces, node crash seen and healed, clean down: OK"
