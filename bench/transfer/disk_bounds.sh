#!/usr/bin/env bash
# The disk's own bounds for the transfer bench's data, to set beamflow's and
# cp's times against: what any durable, verified copy of the 2.2 GB must
# take on this disk at least.
#
#   bench/transfer/disk_bounds.sh [WORK_DIR] [ROUNDS]
#
# WORK_DIR is run_transfer_bench.sh's (its src/big.bin is read; a 2 GiB
# w.bin is written beside it and deleted). The page cache is dropped before
# each run. Rows, 4 MiB requests:
#   write O_DIRECT            dd oflag=direct: the disk's write rate
#   write + fdatasync         dd conv=fdatasync: through the page cache, then synced
#   read O_DIRECT             dd iflag=direct of big.bin: the disk's read rate
#   read buffered             dd of big.bin through the page cache
#   read + write at once      the two O_DIRECT dd's together: whether the disk
#                             overlaps reads and writes (time near the larger
#                             of the two alone) or serves them in turn (near
#                             their sum)
#   copy O_DIRECT             dd iflag=direct oflag=direct big.bin -> w.bin,
#                             one request at a time
# A durable copy moves every byte in and out once: its bound is the
# read + write-at-once row (for 2 GiB; the bench's 2.2 GB is 3% more).
set -euo pipefail
WORK=${1:-/var/tmp/beamflow-transfer-bench}
ROUNDS=${2:-2}
cd "$WORK"
[ -f src/big.bin ] || { echo "no $WORK/src/big.bin: run run_transfer_bench.sh first" >&2; exit 2; }
MIB=$(( $(stat -c %s src/big.bin) >> 20 ))
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
timed() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", b - a}'; }
row() { printf '%-24s %7s s  %6.2f GB/s  (load %s)\n' "$1" "$2" "$(awk -v t="$2" -v m="$MIB" 'BEGIN {print m * 1048576 / t / 1e9}')" "$(cut -d' ' -f1 /proc/loadavg)"; }
trap 'rm -f w.bin' EXIT
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r ($MIB MiB)"
  rm -f w.bin; cold; row "write O_DIRECT" "$(timed dd if=/dev/zero of=w.bin bs=4M count=$((MIB / 4)) oflag=direct status=none)"
  rm -f w.bin; cold; row "write + fdatasync" "$(timed dd if=/dev/zero of=w.bin bs=4M count=$((MIB / 4)) conv=fdatasync status=none)"
  cold; row "read O_DIRECT" "$(timed dd if=src/big.bin of=/dev/null bs=4M iflag=direct status=none)"
  cold; row "read buffered" "$(timed dd if=src/big.bin of=/dev/null bs=4M status=none)"
  rm -f w.bin; cold
  row "read + write at once" "$(timed bash -c "dd if=src/big.bin of=/dev/null bs=4M iflag=direct status=none &
    dd if=/dev/zero of=w.bin bs=4M count=$((MIB / 4)) oflag=direct status=none; wait")"
  rm -f w.bin; cold; row "copy O_DIRECT" "$(timed dd if=src/big.bin of=w.bin bs=4M iflag=direct oflag=direct status=none)"
done
