"""Memory growth across sequential runs in one process: what a single nnlab worker does.

What is measured
    The process activates the TensorFlow backend on the CPU once, then calls
    ``nnlab.train.run(spec, run_dir)`` for N tiny circles runs one after another (N=50 by
    default; 200 points, MLP [8], 2 epochs or ``--epochs``; distinct seeds from
    ``repeats: N`` expanded by ``nnlab.expansion.expand``), each into its own run directory
    under a temporary folder. With ``--plots`` it also draws each run's plots, as a worker
    does after ``train.run``.
    With ``--plain`` it runs the same loop without nnlab instead (build the same Keras MLP,
    compile, ``fit`` with validation data, ``keras.backend.clear_session()``), to tell
    growth that nnlab adds from growth that Keras/TensorFlow shows on its own. ``--compare``
    runs both, each in a fresh process, and prints them side by side.

    After runs 5, 10, 20, 30, ... and N it collects garbage and reads the resident set size
    (VmRSS from /proc/self/status; ``resource`` maxrss where /proc is missing), and prints a
    table: RSS in MiB, RSS relative to RSS after run 5, and the seconds the last run took.

How to read it
    RSS after run 5 is the baseline: TensorFlow, Keras and the first traced functions are
    loaded by then. ratio = RSS(N) / RSS(5). A worker that keeps nothing between runs stays
    near 1.0; steady growth per run (a leaked model, graph, figure or callback) shows as a
    ratio that keeps rising with N. PASS when ratio <= 1.3, else FAIL and exit status 1.
    The growth per run in MiB (least squares over the checkpoints from run 10 on) is printed
    too: multiply it by the number of runs a worker does in a long sweep to see what it costs.

    Until nnlab dropped the gradient functions each traced train step leaves in TensorFlow's
    global registry (``backend.forget_custom_gradients``), 100 runs gave 1.446 here, and the
    plain Keras loop grows the same way (about 4.6 MiB per run): ``--plain`` shows it.

Usage: .venv/bin/python benchmarks/memory.py [--runs N] [--epochs E] [--backend B] [--quick]
                                             [--plots] [--plain | --compare]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THRESHOLD = 1.3
BASE_RUN = 5

CONFIG = {
    "name": "bench-memory",
    "seed": 0,
    "device": "cpu",
    "data": {"name": "circles", "n_samples": 200, "noise": 0.1},
    "model": {"hidden": [8]},
    "train": {"epochs": 2, "batch_size": 32, "learning_rate": 0.01},
}


def rss_mib() -> float:
    """Current resident set size in MiB (peak RSS where /proc is not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def checkpoints(n: int) -> list[int]:
    marks = {k for k in (5, 10) if k <= n} | set(range(20, n + 1, 10)) | {n}
    return sorted(marks)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares MiB per run."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def plain_run(seed: int, epochs: int = 2) -> dict[str, str]:
    """One run as a hand-written Keras loop: the same data, model and fit, no nnlab."""
    import keras
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    keras.utils.set_random_seed(seed)
    x, y = make_circles(n_samples=200, noise=0.1, factor=0.5, random_state=seed)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x.astype("float32"), y, test_size=0.25, random_state=seed, stratify=y
    )
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_tr, y_tr, batch_size=32, epochs=epochs, validation_data=(x_va, y_va), verbose=0)
    keras.backend.clear_session()
    return {"status": "completed"}


def compare(args: argparse.Namespace, n: int) -> int:
    """Both loops, each in its own fresh process (RSS is per process), then one table."""
    common = ["--runs", str(n), "--epochs", str(args.epochs), "--backend", args.backend,
              "--threshold", str(args.threshold)]  # fmt: skip
    if args.plots:
        common.append("--plots")
    found: dict[str, tuple[float, float, int]] = {}
    for label, extra in (("nnlab", []), ("plain Keras", ["--plain"])):
        proc = subprocess.run(
            [sys.executable, __file__, *common, *extra], capture_output=True, text=True
        )
        print(f"== {label}")
        print(proc.stdout, end="")
        ratio = re.search(r"ratio RSS\(\d+\) / RSS\(\d+\) = \S+ / \S+ = ([0-9.]+)", proc.stdout)
        growth = re.search(r"growth from run 10 on: ([-+0-9.]+) MiB", proc.stdout)
        if ratio is None or growth is None:
            print(proc.stderr[-3000:])
            return 1
        found[label] = (float(ratio[1]), float(growth[1]), proc.returncode)
        print()
    print(f"{'loop':12s} {'RSS(N)/RSS(5)':>14s} {'MiB per run':>12s}")
    for label, (ratio, growth, _) in found.items():
        print(f"{label:12s} {ratio:14.3f} {growth:+12.2f}")
    return found["nnlab"][2]


def main() -> int:
    parser = argparse.ArgumentParser(
        description="RSS growth over N sequential nnlab.train.run calls in one process; "
        f"PASS when RSS(N)/RSS({BASE_RUN}) <= {THRESHOLD}.",
    )
    parser.add_argument("--runs", type=int, default=None, help="number of runs (default 50)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2)")
    parser.add_argument(
        "--backend",
        choices=["tensorflow", "jax", "torch"],
        default="tensorflow",
        help="Keras backend (default tensorflow)",
    )
    parser.add_argument("--quick", action="store_true", help="20 runs (~40 s)")
    parser.add_argument(
        "--plots", action="store_true", help="also draw each run's plots, as a worker does"
    )
    loop = parser.add_mutually_exclusive_group()
    loop.add_argument(
        "--plain",
        action="store_true",
        help="the same runs as a plain Keras loop without nnlab (baseline for the growth)",
    )
    loop.add_argument(
        "--compare",
        action="store_true",
        help="run the nnlab loop and the plain Keras loop, each in a fresh process, and print "
        "both growths side by side (exit status: nnlab's verdict)",
    )
    parser.add_argument(
        "--threshold", type=float, default=THRESHOLD, help=f"PASS limit (default {THRESHOLD})"
    )
    args = parser.parse_args()
    n = args.runs if args.runs is not None else (20 if args.quick else 50)
    if n < BASE_RUN:
        parser.error(f"--runs must be >= {BASE_RUN}")
    if args.compare:
        return compare(args, n)

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["NNLAB_OFFLINE"] = "1"
    t0 = time.perf_counter()
    rss_start = rss_mib()
    from nnlab import backend

    backend.activate(args.backend, "cpu")
    from nnlab import hooks, train
    from nnlab.config import validate
    from nnlab.expansion import expand

    train_config = {**CONFIG["train"], "epochs": args.epochs}
    doc = {**CONFIG, "backend": args.backend, "train": train_config, "repeats": n}
    specs = expand(validate(doc))
    assert len({s.run_id for s in specs}) == n, "expected one distinct run per seed"
    rss_import = rss_mib()
    what = "plain Keras loop (no nnlab)" if args.plain else "nnlab.train.run"
    print(
        f"{n} runs of circles n_samples=200, MLP [8], {args.epochs} epochs, one process, "
        f"{args.backend}, {what}, "
        f"plots {'on' if args.plots and not args.plain else 'off'}; cpu_count={os.cpu_count()}"
    )
    print(f"RSS at start {rss_start:.0f} MiB, after importing the backend {rss_import:.0f} MiB")
    print()
    print(f"{'run':>5s} {'RSS MiB':>9s} {'/RSS(5)':>8s} {'run s':>7s}")

    marks = set(checkpoints(n))
    table: list[tuple[int, float]] = []
    statuses: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-memory-") as tmp:
        for i, spec in enumerate(specs, start=1):
            t = time.perf_counter()
            run_dir = Path(tmp) / spec.run_id
            if args.plain:
                result = plain_run(spec.seed, args.epochs)
            else:
                result = train.run(spec, run_dir)
                if args.plots:
                    hooks.plot_run(run_dir, result)
            elapsed = time.perf_counter() - t
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
            if i in marks:
                gc.collect()
                rss = rss_mib()
                table.append((i, rss))
                base = table[0][1]
                print(f"{i:5d} {rss:9.0f} {rss / base:8.3f} {elapsed:7.2f}", flush=True)

    base, last = table[0][1], table[-1][1]
    ratio = last / base
    growth = slope([p for p in table if p[0] >= 10])
    print()
    print(f"statuses: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}")
    print(f"growth from run 10 on: {growth:+.2f} MiB per run (least squares)")
    print(f"ratio RSS({n}) / RSS({BASE_RUN}) = {last:.0f} / {base:.0f} = {ratio:.3f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    ok = ratio <= args.threshold and statuses.get("completed", 0) == n
    if statuses.get("completed", 0) != n:
        print("not every run completed: the measurement is not meaningful")
    print(f"{'PASS' if ok else 'FAIL'} (limit {args.threshold})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
