#!/usr/bin/python3
"""beamflow's tomography beside TomoPy, measured in the same run on the same files.

From a fresh clone (the build needs the targets beamflow and tomo_bench):

  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build --target beamflow tomo_bench
  /usr/bin/python3 bench/tomography/run_tomo_bench.py --build build \\
      [--sizes 512x360,1024x900,2048x1500] [--slices 512,128,32] [--rounds 2] [--passes 3] [--dir DIR] [--no-peer]

The default slice counts are a quarter of each width (512, 128, 32): a real
volume has about as many rows as the detector is wide, and a whole process
under mpirun pays ~0.5 s of start-up (mpirun, MPI_Init) that 8 slices of
2048 (0.9 s of kernel) cannot amortise, so with the earlier 128, 32, 8 the
"% of kernel" column measured mpirun more than the file-to-file path. A
quarter keeps 2 rounds with TomoPy under 15 minutes on a quiet 2-core VM.

The peer, TomoPy 1.15.2, is built by ../shared/peers/tomopy/build.sh (beside
the project; --peer-build to name another script, or --peer-env for an env
file already built). Where it cannot be built, the tables say so and print
no ratio.

For each width x angles: one noisy Shepp-Logan phantom (`beamflow phantom`,
the axis 3.5 columns right of the middle, the reconstructed rows between its
empty first and last rows), then --rounds rounds, each running beamflow then
TomoPy (alternating, so that a change of load hits both). Each figure is the
best of the rounds.

beamflow:
  kernel, in process   `mpirun -np 2 tomo_bench --input` (gridrec on sinograms
                       in memory, and jobs::reconstruct file to file, in process);
                       each round times --passes kernel passes, all ranks
                       starting together, and the figure is the best pass of
                       all rounds: one pass swung by 60% on the 2-core VM.
                       Every pass is kept: the line under the kernel table
                       gives the lowest, median and best, so the spread
                       behind the "% of kernel" ratio can be read
  file to file         `mpirun -np 2 beamflow recon` and a plain `beamflow recon`
                       (1 rank): whole process, wall clock, slices / seconds,
                       each writing a new volume, as a user's run does; and
                       `mpirun -np 2 beamflow recon --overwrite` replacing a
                       volume, printed beside (the old file's blocks are freed
                       before the process ends)
  find-center          `beamflow find-center` (Vo), whole process
TomoPy (ncore=2: both use the 2 cores), tomopy_peer.py:
  kernel               recon(algorithm='gridrec') on the preprocessed sinograms,
                       --passes timed passes a round, the best of all rounds
                       (as beamflow's), their spread under beamflow's
  file to file         h5py read, normalize, minus_log, [pad], recon, h5py write:
                       in process, and the whole `python3 tomopy_peer.py` process
                       (import tomopy included)
  find_center_vo       read, preprocess, find_center_vo; in process and whole
  padded / as shipped  --pad yes (W/2 each side, mode 'edge', cropped to W x W)
                       and --pad no
Quality: beamflow's one definition (jobs/tomography/quality.hpp, through
`tomo_bench --score`): PSNR and SSIM over the slices whose truth is not
constant, peak = the truth's range, inside the field of view; the
scale-fitted PSNR beside. TomoPy's volumes are first shifted by (+0.5, -0.5)
pixels onto the grid beamflow and the truth use (the peers' README).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MPI = ["mpirun", "--oversubscribe", "-np", "2"]


def log(text):
    print(text, file=sys.stderr, flush=True)


def run(cmd, env=None, capture=True):
    """Runs cmd; returns (wall seconds, stdout). Raises on failure."""
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return wall, p.stdout


def peer_env(args):
    """The environment TomoPy runs in, or (None, why not)."""
    env_file = args.peer_env
    if not env_file:
        script = Path(args.peer_build)
        if not script.is_file():
            return None, f"{script} not found"
        p = subprocess.run([str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            return None, f"{script} failed: {p.stderr.strip()[-500:]}"
        env_file = p.stdout.strip().splitlines()[-1]
    out = subprocess.run(["bash", "-c", f". {shlex.quote(env_file)} && env -0"], stdout=subprocess.PIPE)
    if out.returncode != 0:
        return None, f"cannot source {env_file}"
    env = dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)
    check = subprocess.run(["/usr/bin/python3", "-c", "import tomopy"], env=env, stderr=subprocess.PIPE, text=True)
    if check.returncode != 0:
        return None, f"import tomopy fails: {check.stderr.strip()[-500:]}"
    return env, None


def best(old, new, key):
    """Keeps the entry with the lowest `key` (seconds) over the rounds."""
    return new if old is None or new[key] < old[key] else old


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.environ.get("BEAMFLOW_BUILD_DIR", str(ROOT / "build")))
    p.add_argument("--sizes", default="512x360,1024x900,2048x1500")
    p.add_argument("--slices", default="512,128,32")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--passes", type=int, default=3, help="timed kernel passes a round (tomo_bench --passes)")
    p.add_argument("--dir", help="where the phantoms and outputs go (made if missing; "
                   "tomo_bench_results.json is written there)")
    p.add_argument("--peer-build", default=str(ROOT.parent / "shared" / "peers" / "tomopy" / "build.sh"))
    p.add_argument("--peer-env")
    p.add_argument("--no-peer", action="store_true",
                   help="beamflow's figures only (kernel, file to file, find-center): to iterate quickly")
    args = p.parse_args()

    build = Path(args.build).resolve()
    beamflow = str(build / "apps" / "beamflow" / "beamflow")
    tomo_bench = str(build / "bench" / "tomography" / "tomo_bench")
    for exe in (beamflow, tomo_bench):
        if not os.access(exe, os.X_OK):
            sys.exit(f"run_tomo_bench.py: {exe} is missing: build the targets beamflow and tomo_bench")
    if args.dir:
        # A missing --dir was a bare FileNotFoundError traceback from tempfile.
        try:
            Path(args.dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            sys.exit(f"run_tomo_bench.py: --dir {args.dir}: {e.strerror}")
    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    work = Path(tmp.name)
    # FFTW wisdom lives in BEAMFLOW_HOME/fftw: the first round plans and
    # stores it, later rounds start from it, as on a machine that ran once.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               BEAMFLOW_HOME=str(work / "home"))
    tomopy_env, no_peer = (None, "not run (--no-peer)") if args.no_peer else peer_env(args)
    if tomopy_env is not None:
        tomopy_env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    else:
        log(f"TomoPy is not available: {no_peer}")
    peer = [str(HERE / "tomopy_peer.py")]

    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    slices = [int(v) for v in args.slices.split(",")]
    results = []
    for (width, angles), n in zip(sizes, slices):
        log(f"== {width} x {angles}, {n} slices")
        data = work / f"phantom-{width}.h5"
        run([beamflow, "phantom", "--output", str(data), "--size", str(width), "--angles", str(angles),
             "--rows", str(n + 2), "--center-offset", "3.5", "--photons", "1e4", "--overwrite"], env)
        truth = str(data.with_name(data.stem + ".truth.h5"))  # jobs::truth_volume_path
        center = (width - 1) / 2 + 3.5
        rows = f"1:{n + 1}"
        r = {"width": width, "angles": angles, "slices": n, "center": center}
        for k in range(args.rounds):
            log(f"   round {k + 1}: beamflow")
            js = work / "tomo_bench.json"
            run(MPI + [tomo_bench, "--input", str(data), "--center", repr(center), "--rows", rows,
                       "--dir", str(work), "--json", str(js), "--passes", str(args.passes)], env)
            for row in json.loads(js.read_text()):
                key = f"ours_{row['ranks']}rank"
                r.setdefault(key + "_passes", []).extend(row["kernel_passes"])
                row["seconds"] = -row["kernel"]  # best = fastest kernel
                r[key] = best(r.get(key), row, "seconds")
            # A user's run writes a new volume: each round's fresh runs write
            # to names no file has had (none removed just before a timed run).
            # Replacing a volume (--overwrite onto round 1's) also frees the
            # old file's blocks before the process ends (replaced_file.hpp:
            # 0.24-0.37 s for 512 MiB on the 2-core VM's ext4 with online
            # discard, at load 6-8), so it is timed apart; the two mpirun runs
            # swap places every round, so that neither always follows
            # tomo_bench.
            out, replaced = work / f"ours-{width}-{k}.h5", work / f"ours-{width}-0.h5"
            fresh, replace = ("ours_file_np2", MPI, out), ("ours_file_np2_replace", MPI, replaced)
            for key, launcher, path in ([replace, fresh] if k % 2 else [fresh, replace]) + [
                    ("ours_file_1", [], work / f"ours-{width}-{k}-1rank.h5")]:
                wall, _ = run(launcher + [beamflow, "recon", "--input", str(data), "--output", str(path), "--center",
                                          repr(center), "--rows", rows, "--overwrite", "-q"], env)
                log(f"     {key}: {wall:.2f} s")
                r[key] = best(r.get(key), {"seconds": wall}, "seconds")
            wall, text = run([beamflow, "find-center", "--input", str(data)], env)
            found = json.loads(text)["center"]
            r["ours_center"] = best(r.get("ours_center"), {"seconds": wall, "error": found - center}, "seconds")
            if tomopy_env is None:
                continue
            log(f"   round {k + 1}: TomoPy")
            for pad in ("yes", "no"):
                tp = work / f"tomopy-{width}-{pad}.h5"
                aligned = work / f"tomopy-{width}-{pad}.aligned.h5"
                wall, text = run(["/usr/bin/python3"] + peer + [
                    "recon", "--input", str(data), "--rows", rows, "--center", repr(center), "--pad", pad,
                    "--output", str(tp), "--aligned", str(aligned), "--passes", str(args.passes)], tomopy_env)
                got = json.loads(text)
                got["seconds"] = wall - got["extra_s"]  # the extra kernel passes are not a user's run
                key = f"tomopy_{'padded' if pad == 'yes' else 'shipped'}"
                r[key] = best(r.get(key), got, "seconds")
                r[key + "_kernel"] = min(r.get(key + "_kernel", float("inf")), got["kernel_s"])
                r.setdefault(key + "_passes", []).extend(n / s for s in got["kernel_passes_s"])
                r[key + "_file"] = min(r.get(key + "_file", float("inf")), got["file_s"])
                if k == 0:
                    _, q = run([tomo_bench, "--score", str(aligned), "--truth", truth, "--truth-begin", "1",
                                "--center", repr(center)], env)
                    r[key + "_quality"] = json.loads(q)
            wall, text = run(["/usr/bin/python3"] + peer + ["center", "--input", str(data)], tomopy_env)
            got = json.loads(text)
            got["seconds"] = wall
            got["error"] = got["center"] - center
            r["tomopy_center"] = best(r.get("tomopy_center"), got, "seconds")
        if "ours_quality" not in r:
            _, q = run([tomo_bench, "--score", str(out), "--truth", truth, "--truth-begin", "1",
                        "--center", repr(center)], env)
            r["ours_quality"] = json.loads(q)
        for volume in work.glob(f"ours-{width}-*.h5"):
            volume.unlink()  # 512 MiB each at the default sizes
        results.append(r)
    print_tables(results, no_peer)
    if args.dir:
        (Path(args.dir) / "tomo_bench_results.json").write_text(json.dumps(results, indent=1))


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def quality(q):
    if not q or q.get("psnr") is None:
        return "-"
    return f"{q['psnr']:.2f} ({q['psnr_fitted']:.2f}) / {q['ssim']:.3f}"


def table(title, header, rows):
    """One Markdown table under its title."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def spread(rates):
    """lowest / median / best of the passes' rates, and how many."""
    v = sorted(rates)
    median = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return f"{v[0]:.1f} / {median:.1f} / {v[-1]:.1f} ({len(v)} passes)"


def per_s(n, seconds):
    return n / seconds if seconds else None


def print_tables(results, no_peer):
    if no_peer:
        print(f"TomoPy: not available here ({no_peer}); its columns are empty and no ratio is printed.")
    size = lambda r: f"{r['width']} x {r['angles']}"  # noqa: E731
    rows = []
    for r in results:
        n, ours = r["slices"], r["ours_2rank"]["kernel"]
        tp, ts = per_s(n, r.get("tomopy_padded_kernel")), per_s(n, r.get("tomopy_shipped_kernel"))
        rows.append([size(r), str(n), fmt(r["ours_1rank"]["kernel"]), fmt(ours), fmt(tp), ratio(ours, tp), fmt(ts),
                     ratio(ours, ts)])
    table("Kernel, slices/s (beamflow: gridrec on 2 ranks of 1 thread; TomoPy: gridrec, ncore=2)",
          ["width x angles", "slices", "beamflow 1 rank", "beamflow 2 ranks", "TomoPy padded", "beamflow / padded",
           "TomoPy as shipped", "beamflow / shipped"], rows)
    print("\nbeamflow's kernel passes, slices/s, lowest / median / best (the figure above) of every timed pass:")
    for r in results:
        print(f"  {size(r)}: 1 rank {spread(r['ours_1rank_passes'])}; 2 ranks {spread(r['ours_2rank_passes'])}")
        for key, name in (("tomopy_padded_passes", "TomoPy padded"), ("tomopy_shipped_passes", "TomoPy as shipped")):
            if r.get(key):
                print(f"  {size(r)}: {name} {spread(r[key])}")

    rows = []
    for r in results:
        n = r["slices"]
        whole, kernel = n / r["ours_file_np2"]["seconds"], r["ours_2rank"]["kernel"]
        tpp, tps = r.get("tomopy_padded"), r.get("tomopy_shipped")
        tp_whole = per_s(n, tpp["seconds"]) if tpp else None
        ts_whole = per_s(n, tps["seconds"]) if tps else None
        replacing = n / r["ours_file_np2_replace"]["seconds"]
        rows.append([size(r), fmt(r["ours_2rank"]["end_to_end"]), fmt(whole), f"{100 * whole / kernel:.0f}%",
                     f"{fmt(replacing)} ({100 * replacing / kernel:.0f}%)", fmt(n / r["ours_file_1"]["seconds"]),
                     fmt(per_s(n, r.get("tomopy_padded_file"))),
                     fmt(tp_whole), ratio(whole, tp_whole), fmt(ts_whole), ratio(whole, ts_whole)])
    table("File to file, slices/s (Data Exchange in, volume out; whole process = wall clock of the command, "
          "writing a new volume unless it says it replaces one)",
          ["width x angles", "beamflow in process, 2 ranks", "beamflow whole process, mpirun -np 2", "% of kernel",
           "mpirun -np 2 replacing a volume (% of kernel)", "beamflow whole process, 1 rank",
           "TomoPy padded in process", "TomoPy padded whole process", "beamflow / TomoPy padded (whole)",
           "TomoPy as shipped whole process", "beamflow / shipped (whole)"], rows)

    rows = []
    for r in results:
        q = r["ours_quality"]
        rows.append([size(r), quality(q), quality(r.get("tomopy_padded_quality")),
                     quality(r.get("tomopy_shipped_quality")), f"{q['scored']} of {q['scored'] + q['constant']}"])
    table("Quality: PSNR dB (scale-fitted) / SSIM over the slices whose truth is not constant, peak = truth range "
          "(jobs/tomography/quality.hpp)",
          ["width x angles", "beamflow gridrec", "TomoPy padded", "TomoPy as shipped", "slices scored"], rows)

    rows = []
    for r in results:
        o, t = r["ours_center"], r.get("tomopy_center")
        rows.append([size(r), f"{o['seconds']:.3f}", f"{o['error']:+.3f}",
                     f"{t['seconds']:.2f} ({t['center_s']:.2f})" if t else "-", f"{t['error']:+.3f}" if t else "-",
                     ratio(t["seconds"] if t else None, o["seconds"])])
    table("Find the centre (Vo), whole process, seconds (TomoPy: find_center_vo, ncore=2, the same +-32 column "
          "search; in process in brackets)",
          ["width x angles", "beamflow find-center", "error px", "TomoPy find_center_vo", "error px", "speed-up"], rows)


if __name__ == "__main__":
    main()
