"""Wall time of ``nnlab plot`` on sweeps of thousands of runs.

What is measured
    Experiments are fabricated in a temporary directory as a sweep writes them (no training):
    one folder per run with a ``history.csv`` of 20 epochs (epoch, loss, accuracy, val_loss,
    val_accuracy, learning_rate, epoch_seconds) and a ``result.json``, and the experiment's
    ``summary.csv`` with the swept columns:

    grid-1000     10 learning rates x 10 batch sizes x 10 seeds: 100 settings
    grid-10000    100 learning rates x 10 batch sizes x 10 seeds: 1,000 settings
    random-10000  a random search: 10,000 distinct (learning rate, dropout) points, one seed
                  each: 10,000 settings

    Each is timed as a user meets it, ``nnlab plot EXPERIMENT`` in a fresh process (start,
    imports and every file written included): past ``PER_RUN_PLOTS_MAX`` runs that draws the
    comparison plots only. ``nnlab plot grid-1000 --runs`` also draws the 1,000 runs' own
    plots, in worker processes (one per available core).

    The target of the issue "Sweeps of 10,000 runs" is <= 30 s for ``nnlab plot`` of a
    10,000-run experiment (comparison plots only).

Measured here (2 shared CPU cores, Python 3.11, matplotlib 3.11; CI running alongside):

    grid-1000 (comparison only)        5.8 s
    grid-10000 (comparison only)       7.8 s
    random-10000 (comparison only)     5.4 s
    grid-1000 --runs                 191.3 s   (1,000 learning_curves.png in 2 processes)

    Before (all per-run plots first, every history read, a mean curve per setting), one
    in-process profile of grid-10000 spent 28 s reading the 10,000 histories and 16.5 s per
    metric averaging 1,000 settings' curves, before drawing anything; a user's 2,250-run
    experiment had drawn 2,097 per-run figures after 600 s.

Usage: .venv/bin/python benchmarks/plots_scale.py [--quick] [--no-runs] [--keep DIR]
    --quick    only grid-1000 and grid-10000, comparison plots only
    --no-runs  skip ``--runs`` on grid-1000 (minutes on 2 cores)
    --keep     fabricate into DIR and keep it (to profile); nothing is timed
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NNLAB = Path(sys.executable).parent / "nnlab"
EPOCHS = 20
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
HEADER = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,epoch_seconds\n"


def _history(lr: float, scale: float, rng: random.Random) -> tuple[str, dict, dict]:
    """history.csv text, and its final and best values: faster learning at larger rates."""
    speed = 0.05 + 2.0 * min(lr, 0.5) * scale
    lines, cols = [HEADER], {m: [] for m in METRICS}
    for t in range(EPOCHS):
        loss = 0.7 * math.exp(-speed * t) + 0.15 + rng.gauss(0, 0.01)
        val_loss = loss + 0.05 + 0.002 * max(t - 8, 0) ** 1.5 / scale + rng.gauss(0, 0.01)
        row = {"loss": loss, "accuracy": 1 - 0.6 * loss,
               "val_loss": val_loss, "val_accuracy": 1 - 0.6 * val_loss}  # fmt: skip
        for m in METRICS:
            cols[m].append(row[m])
        values = ",".join(repr(row[m]) for m in METRICS)
        lines.append(f"{t},{values},{lr!r},0.05\n")
    final = {m: cols[m][-1] for m in METRICS}
    best = {m: (max if "acc" in m else min)(cols[m]) for m in METRICS}
    return "".join(lines), final, best


def _write(exp: Path, points: list[tuple[dict[str, str], int, float, float]]) -> Path:
    """Run folders and summary.csv for ``points``: (swept values, seed, lr, speed scale)."""
    exp.mkdir(parents=True)
    (exp / "experiment.yaml").write_text(f"name: {exp.name}\n")
    axes = list(points[0][0])
    finals = [f"final_{m}" for m in METRICS]
    bests = [f"best_{m}" for m in METRICS]
    columns = ["run_id", *axes, "seed", "status", "epochs_run", *finals, *bests,
               "best_epoch", "wall_s", "diagnosis"]  # fmt: skip
    rows = [",".join(columns) + "\n"]
    rng = random.Random(0)
    for values, seed, lr, scale in points:
        words = "_".join(f"{a.rsplit('.', 1)[-1]}={v}" for a, v in values.items())
        run_id = f"{words}_seed={seed}_{rng.randrange(16**6):06x}"
        text, final, best = _history(lr, scale, rng)
        run = exp / run_id
        run.mkdir()
        (run / "history.csv").write_text(text)
        result = {"run_id": run_id, "status": "completed", "epochs_run": EPOCHS,
                  "best_epoch": EPOCHS - 1, "final": final, "best": best,
                  "wall_s": 1.0}  # fmt: skip
        (run / "result.json").write_text(json.dumps(result, indent=2))
        cells = [run_id, *values.values(), str(seed), "completed", str(EPOCHS),
                 *(repr(final[m]) for m in METRICS), *(repr(best[m]) for m in METRICS),
                 str(EPOCHS - 1), "1.0", ""]  # fmt: skip
        rows.append(",".join(cells) + "\n")
    (exp / "summary.csv").write_text("".join(rows))
    return exp


def fabricate_grid(exp: Path, n_lr: int, n_bs: int, seeds: int) -> Path:
    """``n_lr`` learning rates (log-spaced) x ``n_bs`` batch sizes x ``seeds`` seeds."""
    lrs = [f"{10 ** (-4 + 3.5 * k / max(n_lr - 1, 1)):.3g}" for k in range(n_lr)]
    sizes = [str(8 * 2**k) if k < 8 else str(1000 + k) for k in range(n_bs)]
    points = [({"train.learning_rate": lr, "train.batch_size": bs}, seed, float(lr),
               1.0 + 0.1 * j) for lr in lrs for j, bs in enumerate(sizes)
              for seed in range(seeds)]  # fmt: skip
    return _write(exp, points)


def fabricate_random(exp: Path, n: int) -> Path:
    """A random search: ``n`` distinct (learning rate, dropout) points, seed 0 each."""
    rng = random.Random(1)
    points = []
    for _ in range(n):
        lr = 10 ** rng.uniform(-4, -0.5)
        dropout = rng.uniform(0.0, 0.6)
        values = {"train.learning_rate": repr(lr), "model.dropout": repr(dropout)}
        points.append((values, 0, lr, 1.0 - dropout))
    return _write(exp, points)


def timed(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([str(NNLAB), *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"nnlab {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    said = (proc.stderr.strip().splitlines() or [""])[-1]  # "wrote N comparison plots ..."
    return seconds, said[:110]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-runs", action="store_true")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()

    def make(root: Path) -> dict[str, Path]:
        made = {}
        for name, build in (
            ("grid-1000", lambda p: fabricate_grid(p, 10, 10, 10)),
            ("grid-10000", lambda p: fabricate_grid(p, 100, 10, 10)),
            ("random-10000", lambda p: fabricate_random(p, 10_000)),
        ):
            if args.quick and name == "random-10000":
                continue
            start = time.perf_counter()
            made[name] = build(root / name)
            print(f"fabricated {name} in {time.perf_counter() - start:.1f} s", flush=True)
        return made

    if args.keep:
        make(args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="nnlab-plots-scale-") as tmp:
        made = make(Path(tmp))
        print(f"\n{'nnlab plot ...':<34} {'wall s':>7}  what it said")
        for name, exp in made.items():
            seconds, last = timed("plot", str(exp))
            print(f"{name + ' (comparison only)':<34} {seconds:7.1f}  {last}", flush=True)
        if not (args.quick or args.no_runs):
            seconds, last = timed("plot", str(made["grid-1000"]), "--runs")
            print(f"{'grid-1000 --runs':<34} {seconds:7.1f}  {last}", flush=True)


if __name__ == "__main__":
    main()
