"""Wall time of an 8-run sweep: nnlab with 1 and 2 workers against a hand-written Keras loop.

What is measured
    The same sweep (circles, 1000 points, MLP [16, 16], 20 epochs, a 2x2 grid over
    train.batch_size and train.learning_rate, repeats 2: 8 runs) is trained three ways, each
    as a fresh subprocess, timed from the outside (process start and the TensorFlow import
    included, as a user sees it):

    workers1  ``nnlab run CONFIG --workers 1 --quiet``
    workers2  ``nnlab run CONFIG --workers 2 --quiet``
    plain     a small inline script, no nnlab: for the same 8 settings it makes the same
              circles data with scikit-learn (same split and standard scaling), builds the
              same Keras MLP, compiles with Adam and calls ``fit(..., validation_data=...)``
              in a loop in one process; what a notebook user writes by hand.

    Each variant writes into its own fresh temporary directory; nothing is written into
    the repository. With ``--repeat K`` every variant is measured K times (interleaved:
    w1, w2, plain, w1, ...) and the median is reported.

How to read the ratios (all from this one invocation; absolute seconds are not comparable
between machines or even between runs on a shared machine)
    workers2/workers1   < 1 means the second worker pays off (ideal on 2 cores: about 0.5,
                        plus one more process start and TF import);
    workers1/plain      the overhead nnlab adds on one worker: epoch-0 evaluation, history
                        CSVs written as epochs end, result/env JSON, decision-boundary grid,
                        per-run and experiment plots, summary.csv; 1.0 means none;
    workers2/plain      what a user gains or loses end to end by switching to nnlab with
                        2 workers.

    The breakdown lines split nnlab's time using its result.json files: the sum of fit_s
    (inside ``model.fit``) and of wall_s (the whole ``train.run``), the rest being process
    start, imports, plots and bookkeeping. The plain script reports its own import time and
    per-run fit time the same way.

    The script also checks that workers1 and workers2 produced the same run ids with the
    same statuses (from their summary.csv files) and exits 1 if they did not.

Usage: .venv/bin/python benchmarks/workers.py [--quick] [--repeat K]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NNLAB = Path(sys.executable).parent / "nnlab"

BATCH_SIZES = [32, 128]
LEARNING_RATES = [0.01, 0.001]
REPEATS = 2
SEED = 0
HIDDEN = [16, 16]

CONFIG = """\
name: bench-workers
seed: {seed}
repeats: {repeats}
device: cpu
data:
  name: circles
  n_samples: {n_samples}
  noise: 0.1
  factor: 0.5
  validation: 0.25
  scale: standard
model:
  kind: mlp
  hidden: {hidden}
  activation: relu
train:
  epochs: {epochs}
  batch_size: 32
  optimizer: adam
  learning_rate: 0.001
  metrics: [accuracy]
sweep:
  train.batch_size: {batch_sizes}
  train.learning_rate: {learning_rates}
"""

# The baseline: what someone writes in a notebook. It prints one JSON line with its own
# timings so that the parent can split import time from training time.
PLAIN = textwrap.dedent(
    """\
    import json, os, sys, time
    t0 = time.perf_counter()
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import numpy as np
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    t_import = time.perf_counter() - t0

    batch_sizes, learning_rates, repeats, seed0, hidden, n_samples, epochs = json.loads(
        sys.argv[1]
    )
    fits, vals = [], []
    for bs in batch_sizes:
        for lr in learning_rates:
            for k in range(repeats):
                seed = seed0 + k
                keras.utils.set_random_seed(seed)
                x, y = make_circles(n_samples=n_samples, noise=0.1, factor=0.5,
                                    random_state=seed)
                x_tr, x_va, y_tr, y_va = train_test_split(
                    x, y, test_size=0.25, random_state=seed, stratify=y)
                scaler = StandardScaler().fit(x_tr)
                x_tr = scaler.transform(x_tr).astype("float32")
                x_va = scaler.transform(x_va).astype("float32")
                model = keras.Sequential([keras.Input((2,))]
                    + [keras.layers.Dense(u, activation="relu") for u in hidden]
                    + [keras.layers.Dense(1, activation="sigmoid")])
                model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                              loss="binary_crossentropy", metrics=["accuracy"])
                t = time.perf_counter()
                h = model.fit(x_tr, y_tr, batch_size=bs, epochs=epochs,
                              validation_data=(x_va, y_va), verbose=0)
                fits.append(time.perf_counter() - t)
                vals.append(h.history["val_accuracy"][-1])
    print(json.dumps({"import_s": t_import, "fit_s": fits, "val_accuracy": vals,
                      "total_s": time.perf_counter() - t0}))
    """
)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["CUDA_VISIBLE_DEVICES"] = "-1"  # CPU for every variant, also where a GPU exists
    env["NNLAB_OFFLINE"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def timed(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"benchmark command failed (exit {proc.returncode}): {' '.join(cmd)}")
    return elapsed, proc


def run_nnlab(config: Path, workers: int, out: Path) -> dict:
    cmd = [str(NNLAB), "run", str(config), "--workers", str(workers), "--quiet", "--out", str(out)]
    elapsed, _ = timed(cmd, out)
    exp = out / "bench-workers"
    with open(exp / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    results = [json.loads(p.read_text()) for p in sorted(exp.glob("*/result.json"))]
    # final val_accuracy keyed like the plain loop's order: (batch_size, learning_rate, seed)
    final = {
        (int(r["train.batch_size"]), float(r["train.learning_rate"]), int(r["seed"])): float(
            r["final_val_accuracy"]
        )
        for r in rows
        if r.get("final_val_accuracy")
    }
    return {
        "wall": elapsed,
        "runs": {(r["run_id"], r["status"]) for r in rows},
        "final": final,
        "fit_s": sum(r.get("fit_s", 0.0) for r in results),
        "run_wall_s": sum(r.get("wall_s", 0.0) for r in results),
        "n_results": len(results),
    }


def run_plain(args: argparse.Namespace, out: Path) -> dict:
    settings = [
        BATCH_SIZES,
        LEARNING_RATES,
        args.repeats_per_point,
        SEED,
        HIDDEN,
        args.n_samples,
        args.epochs,
    ]
    cmd = [sys.executable, "-c", PLAIN, json.dumps(settings)]
    elapsed, proc = timed(cmd, out)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "wall": elapsed,
        "fit_s": sum(report["fit_s"]),
        "import_s": report["import_s"],
        "inner_s": report["total_s"],
        "val_accuracy": report["val_accuracy"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Wall time of an 8-run circles sweep: nnlab --workers 1, --workers 2, "
        "and a plain Keras loop; prints the ratios.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 epochs, 1 seed per point (4 runs), no fixed-cost extras (~1 min)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="measure each variant K times, report the median",
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 20)")
    parser.add_argument("--n-samples", type=int, default=1000, help="circles points (1000)")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 2 if args.quick else 20
    args.repeats_per_point = 1 if args.quick else REPEATS
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if not NNLAB.exists():
        parser.error(f"{NNLAB} not found: run with the project's venv python")

    n_runs = len(BATCH_SIZES) * len(LEARNING_RATES) * args.repeats_per_point
    print(
        f"sweep: circles n_samples={args.n_samples}, MLP {HIDDEN}, {args.epochs} epochs, "
        f"batch_size {BATCH_SIZES} x learning_rate {LEARNING_RATES} x "
        f"{args.repeats_per_point} repeats = {n_runs} runs; cpu_count={os.cpu_count()}; "
        f"--repeat {args.repeat}"
    )
    samples: dict[str, list[dict]] = {"workers1": [], "workers2": [], "plain": []}
    extra: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-workers-") as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            CONFIG.format(
                seed=SEED,
                repeats=args.repeats_per_point,
                n_samples=args.n_samples,
                hidden=HIDDEN,
                epochs=args.epochs,
                batch_sizes=BATCH_SIZES,
                learning_rates=LEARNING_RATES,
            )
        )
        for k in range(args.repeat):
            for name in samples:
                out = Path(tmp) / f"{name}-{k}"
                out.mkdir()
                if name == "plain":
                    m = run_plain(args, out)
                else:
                    m = run_nnlab(config, 1 if name == "workers1" else 2, out)
                samples[name].append(m)
                print(f"  [{k + 1}/{args.repeat}] {name:8s} {m['wall']:7.1f} s", flush=True)
        if not args.quick:
            # fixed costs, measured once on the finished workers1 experiment
            out = Path(tmp) / "workers1-0"
            cmd = [str(NNLAB), "run", str(config), "--quiet", "--out", str(out)]
            extra["startup"], _ = timed(cmd, out)
            cmd = [str(NNLAB), "plot", str(out / "bench-workers")]
            extra["replot"], _ = timed(cmd, out)
            print(
                f"  startup (nnlab run, all {n_runs} runs already finished) "
                f"{extra['startup']:5.1f} s; nnlab plot of the experiment "
                f"{extra['replot']:5.1f} s",
                flush=True,
            )

    def med(name: str, key: str = "wall") -> float:
        return statistics.median(m[key] for m in samples[name])

    w1, w2, plain = med("workers1"), med("workers2"), med("plain")
    print()
    print(f"{'variant':10s} {'wall s':>8s}  (median of {args.repeat})")
    for name, value in (("workers1", w1), ("workers2", w2), ("plain", plain)):
        print(f"{name:10s} {value:8.1f}")
    print()
    print("ratios (same invocation; < 1 means the first is faster):")
    print(f"  workers2 / workers1 = {w2 / w1:.2f}   (speed-up from 2 workers: {w1 / w2:.2f}x)")
    print(f"  workers1 / plain    = {w1 / plain:.2f}   (nnlab's overhead on one worker)")
    print(f"  workers2 / plain    = {w2 / plain:.2f}")
    print()
    print("where the time goes (seconds, medians; sums over the runs):")
    fit1, rw1 = med("workers1", "fit_s"), med("workers1", "run_wall_s")
    fit2, rw2 = med("workers2", "fit_s"), med("workers2", "run_wall_s")
    print(
        f"  workers1: sum fit_s {fit1:6.1f} | sum train.run wall_s {rw1:6.1f} "
        f"(outside fit: {rw1 - fit1:5.1f}) | outside train.run: {w1 - rw1:5.1f}"
    )
    print(
        f"  workers2: sum fit_s {fit2:6.1f} | sum train.run wall_s {rw2:6.1f} "
        f"(outside fit: {rw2 - fit2:5.1f}) | two runs at a time, one thread each"
    )
    p_fit, p_imp, p_inner = med("plain", "fit_s"), med("plain", "import_s"), med("plain", "inner_s")
    print(
        f"  plain:    sum fit   {p_fit:6.1f} | imports {p_imp:5.1f} | data+build+compile "
        f"{p_inner - p_imp - p_fit:5.1f} | process start/exit {plain - p_inner:5.1f}"
    )
    print(
        f"  fit only: workers1 / plain = {fit1 / p_fit:.2f}; "
        f"workers2 / workers1 = {fit2 / fit1:.2f} (per-run slowdown with 2 workers)"
    )
    if extra:
        print(
            f"  nnlab run with nothing left to train (start, TF import, checks, summary, "
            f"comparison plots) = {extra['startup']:.1f}; nnlab plot of the experiment "
            f"(its start, every run's plots, comparison plots) = {extra['replot']:.1f}"
        )
    print()
    plain_acc = samples["plain"][-1]["val_accuracy"]
    keys = [
        (bs, lr, SEED + k)
        for bs in BATCH_SIZES
        for lr in LEARNING_RATES
        for k in range(args.repeats_per_point)
    ]
    nn_acc = [samples["workers1"][-1]["final"].get(key, float("nan")) for key in keys]
    print("same work? final val_accuracy per run (batch_size, learning_rate, seed order):")
    print(f"  plain    {' '.join(f'{a:.3f}' for a in plain_acc)}")
    print(f"  workers1 {' '.join(f'{a:.3f}' for a in nn_acc)}")
    diff = max(abs(a - b) for a, b in zip(plain_acc, nn_acc, strict=True))
    print(f"  largest difference {diff:.3f} (0 when both train the same model on the same data)")

    print()
    ok = True
    for k in range(args.repeat):
        a, b = samples["workers1"][k]["runs"], samples["workers2"][k]["runs"]
        same = a == b
        statuses = sorted({s for _, s in a | b})
        complete = len(a) == n_runs and samples["workers1"][k]["n_results"] == n_runs
        print(
            f"check [{k + 1}]: workers1 and workers2 run ids and statuses "
            f"{'identical' if same else 'DIFFER'} ({len(a)} vs {len(b)} runs; "
            f"statuses {', '.join(statuses)})"
        )
        for rid, status in sorted(a ^ b):
            where = "workers1" if (rid, status) in a else "workers2"
            print(f"    only in {where}: {rid} {status}")
        ok = ok and same and complete
    print("CHECK PASS" if ok else "CHECK FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
