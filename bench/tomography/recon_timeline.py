#!/usr/bin/python3
"""Where the wall time of `beamflow recon` goes, rank by rank.

  recon_timeline.py --build BUILD --input D.h5 --center C --rows A:B [--ranks 2] [--per-round] [-- RECON_ARGS...]
  recon_timeline.py --show PREFIX [--per-round]

Runs `mpirun --oversubscribe -np RANKS beamflow recon ... --overwrite -q`
(plain `beamflow recon` with --ranks 1) with BEAMFLOW_RECON_TRACE set
(jobs/tomography/recon_trace.hpp: each rank writes PREFIX.rank<R>.json, a
Chrome trace: chrome://tracing or ui.perfetto.dev show it too), then prints
for each rank, in seconds:
  start-up      from the launch (this script's clock) to reconstruct()
  setup steps   opening the input, the digest, the centre, the output ...
  first kernel  from reconstruct() to its first kernel (the exposed read and
                preprocessing of round 0)
  kernel        the kernel's own time, summed, its CPU time and its time
                waiting for a core (the compute thread's: mpirun binds a
                rank to one core, shared with the rank's other threads),
                and the compute thread's idle gaps between its first and
                last kernel
  last kernel   to the end of reconstruct() (the exposed last write, the
                close and the publishing rename)
  exit          from reconstruct()'s end to the launcher's exit (MPI and
                Kokkos finalise, freeing, mpirun's end)
and the main thread's totals (read, write, waiting for the compute thread,
the rounds' agreements). --show prints the same for traces written before
(no launch and exit then). --per-round lists every span.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def load(prefix):
    """{rank: [events]} with ts/dur in seconds; thread names resolved."""
    ranks = {}
    for path in sorted(glob.glob(f"{glob.escape(prefix)}.rank*.json")):
        events = json.loads(Path(path).read_text())
        names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M"}
        spans = []
        for e in events:
            if e.get("ph") != "X":
                continue
            spans.append({"name": e["name"], "thread": names.get((e["pid"], e["tid"]), str(e["tid"])),
                          "round": e.get("args", {}).get("round"), "begin": e["ts"] / 1e6,
                          "end": (e["ts"] + e["dur"]) / 1e6,
                          "cpu": e.get("args", {}).get("cpu_us", float("nan")) / 1e6,
                          "runqueue": e.get("args", {}).get("runqueue_us", float("nan")) / 1e6})
        if spans:
            rank = next(e["pid"] for e in events if e.get("ph") == "X")
            ranks[rank] = sorted(spans, key=lambda s: s["begin"])
    return ranks


def summary(rank, spans, launch, exit_):
    whole = next(s for s in spans if s["name"] == "reconstruct")
    kernels = [s for s in spans if s["name"] == "kernel"]
    compute = sorted((s for s in spans if s["name"] in ("preprocess", "kernel")), key=lambda s: s["begin"])
    rows = []
    if launch is not None:
        rows.append(("start-up (launch to reconstruct)", whole["begin"] - launch))
    for s in spans:
        if s["thread"] == "main" and s["round"] is None and s["name"] not in ("reconstruct",):
            rows.append((f"  {s['name']}", s["end"] - s["begin"]))
    if kernels:
        rows.append(("reconstruct to first kernel", kernels[0]["begin"] - whole["begin"]))
        busy = sum(s["end"] - s["begin"] for s in compute if s["begin"] >= kernels[0]["begin"])
        span = kernels[-1]["end"] - kernels[0]["begin"]
        rows.append(("first to last kernel's end", span))
        rows.append(("  kernel, summed", sum(s["end"] - s["begin"] for s in kernels)))
        rows.append(("  kernel CPU, summed", sum(s["cpu"] for s in kernels)))
        rows.append(("  kernel waiting for a core, summed", sum(s["runqueue"] for s in kernels)))
        rows.append(("  preprocess within it, summed",
                     sum(s["end"] - s["begin"] for s in compute if s["name"] == "preprocess"
                         and s["begin"] >= kernels[0]["begin"])))
        rows.append(("  compute thread idle within it", span - busy))
        rows.append(("last kernel to reconstruct's end", whole["end"] - kernels[-1]["end"]))
    rows.append(("reconstruct, whole", whole["end"] - whole["begin"]))
    if exit_ is not None:
        rows.append(("reconstruct's end to the launcher's exit", exit_ - whole["end"]))
        rows.append(("launch to exit", exit_ - launch))
    totals = defaultdict(float)
    for s in spans:
        if s["round"] is not None:
            totals[f"{s['thread']} {s['name']}"] += s["end"] - s["begin"]
    print(f"\nrank {rank}")
    for name, seconds in rows:
        print(f"  {name:<44} {seconds:8.3f}")
    print("  round totals: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(totals.items())))


def per_round(rank, spans):
    t0 = next(s for s in spans if s["name"] == "reconstruct")["begin"]
    print(f"\nrank {rank} spans (seconds from reconstruct's start)")
    for s in spans:
        r = "" if s["round"] is None else f" round {s['round']}"
        print(f"  {s['begin'] - t0:8.3f} {s['end'] - t0:8.3f} {s['end'] - s['begin']:7.3f}  {s['thread']:<8}"
              f" {s['name']}{r}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.environ.get("BEAMFLOW_BUILD_DIR", str(ROOT / "build")))
    p.add_argument("--beamflow", help="the binary (default: BUILD/apps/beamflow/beamflow)")
    p.add_argument("--input")
    p.add_argument("--output", help="default: a file in a temporary directory")
    p.add_argument("--center")
    p.add_argument("--rows")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--show", metavar="PREFIX", help="print traces written before instead of running")
    p.add_argument("--keep", metavar="PREFIX", help="write the traces here (default: a temporary directory)")
    p.add_argument("--per-round", action="store_true")
    p.add_argument("recon_args", nargs="*", help="more `beamflow recon` options (after --)")
    args = p.parse_args()

    launch = exit_ = None
    tmp = tempfile.TemporaryDirectory()
    if args.show:
        prefix = args.show
    else:
        if not (args.input and args.center and args.rows):
            sys.exit("recon_timeline.py: --input, --center and --rows are needed (or --show PREFIX)")
        beamflow = args.beamflow or str(Path(args.build) / "apps" / "beamflow" / "beamflow")
        prefix = args.keep or str(Path(tmp.name) / "trace")
        for old in glob.glob(f"{glob.escape(prefix)}.rank*.json"):
            os.remove(old)
        output = args.output or str(Path(tmp.name) / "volume.h5")
        cmd = [beamflow, "recon", "--input", args.input, "--output", output, "--center", args.center, "--rows",
               args.rows, "--overwrite", "-q"] + args.recon_args
        if args.ranks > 1:
            cmd = ["mpirun", "--oversubscribe", "-np", str(args.ranks)] + cmd
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   BEAMFLOW_RECON_TRACE=prefix)
        launch = time.time()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
        exit_ = time.time()
        if done.returncode != 0:
            sys.exit(f"recon_timeline.py: {' '.join(cmd)} failed ({done.returncode})")
        print(f"{' '.join(cmd)}: {exit_ - launch:.3f} s wall")
    ranks = load(prefix)
    if not ranks:
        sys.exit(f"recon_timeline.py: no trace {prefix}.rank*.json")
    for rank, spans in sorted(ranks.items()):
        summary(rank, spans, launch, exit_)
        if args.per_round:
            per_round(rank, spans)


if __name__ == "__main__":
    main()
