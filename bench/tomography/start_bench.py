#!/usr/bin/python3
"""Start-up of the tomography commands: how long before real work begins.

  /usr/bin/python3 bench/tomography/start_bench.py --build build [--repeat 10]

For `beamflow find-center`, `beamflow recon` (a 256 x 180 phantom, 4 rows),
`beamflow run` of a one-state echo flow and of a flow calling find_center
(whose action runs as a supervised child, `beamflow __action find_center`),
prints the median over --repeat runs of:
  ready    ms from launching the command to the runtime being ready
           (BEAMFLOW_TRACE_START=1, parallel/runtime.hpp): for `run`, to its
           find_center child being ready
  exec     ms from the exec of the process that does the work to that moment
           (since_exec_ms, 10 ms resolution)
  wall     ms of the whole command; cpu: its user + system CPU ms (for `run`,
           the engine's alone: the supervisor and the child are detached)
each as shipped (no launcher: no MPI) and, for comparison, on the path every
command took before (MPI's singleton start, forced here by setting the
Open MPI launcher variables OMPI_COMM_WORLD_RANK=0 / _SIZE=1, which make the
runtime initialise MPI without mpirun).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def once(cmd, cwd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {p.stderr[-1000:]}")
    text = p.stderr
    runs = Path(cwd) / "runs"
    if "run" in cmd and runs.exists():  # the child's stderr, kept by its supervisor
        text += "".join(f.read_text() for f in runs.rglob("stderr"))
    line = next((l for l in text.splitlines() if l.startswith("beamflow-start ")), None)
    fields = dict(f.split("=", 1) for f in line.split()[1:]) if line else {}
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    return {
        "ready": (float(fields["ready"]) - start) * 1e3 if fields else None,
        "exec": float(fields["since_exec_ms"]) if fields else None,
        "mpi": fields.get("mpi"),
        "wall": wall * 1e3,
        "cpu": cpu,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.environ.get("BEAMFLOW_BUILD_DIR", str(ROOT / "build")))
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args()
    beamflow = str(Path(args.build).resolve() / "apps" / "beamflow" / "beamflow")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([beamflow, "phantom", "--output", "p.h5", "--size", "256", "--angles", "180", "--rows", "4"],
                       cwd=work, check=True, stdout=subprocess.DEVNULL)
        (work / "echo.json").write_text(json.dumps(
            {"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "echo", "End": True}}}))
        (work / "fc.json").write_text(json.dumps({"StartAt": "C", "States": {"C": {
            "Type": "Task", "Resource": "find_center", "Parameters": {"input": str(work / "p.h5")}, "End": True}}}))
        commands = {
            "find-center": [beamflow, "find-center", "--input", "p.h5"],
            "recon": [beamflow, "recon", "-q", "--input", "p.h5", "--output", "r.h5", "--center", "130",
                      "--overwrite"],
            "run (echo flow)": [beamflow, "run", "echo.json", "--runs-dir", "runs", "--json"],
            "run (find_center flow)": [beamflow, "run", "fc.json", "--runs-dir", "runs", "--json"],
        }
        base = dict(os.environ, BEAMFLOW_TRACE_START="1", BEAMFLOW_HOME=str(work / "home"))
        old = dict(base, OMPI_COMM_WORLD_RANK="0", OMPI_COMM_WORLD_SIZE="1")
        print("| command | path | ready ms | exec to ready ms | wall ms | CPU ms | MPI initialised |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, cmd in commands.items():
            for path, env in (("no launcher (now)", base), ("MPI singleton (before)", old)):
                got = []
                for _ in range(args.repeat):
                    subprocess.run(["rm", "-rf", str(work / "runs")])
                    got.append(once(cmd, work, env))

                def med(key):
                    values = [g[key] for g in got if g[key] is not None]
                    return f"{statistics.median(values):.0f}" if values else "-"

                mpi = {g["mpi"] for g in got if g["mpi"] is not None}
                print(f"| {name} | {path} | {med('ready')} | {med('exec')} | {med('wall')} | {med('cpu')} "
                      f"| {'yes' if mpi == {'1'} else 'no' if mpi == {'0'} else ('-' if not mpi else 'mixed')} |")


if __name__ == "__main__":
    main()
