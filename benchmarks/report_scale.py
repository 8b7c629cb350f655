"""Time and size of ``nnlab report`` on large fabricated experiments (1,000 and 10,000 runs).

What is measured
    For each size N (``--runs``, default 1,000 and 10,000) the script writes a fake but
    complete experiment into a temporary folder: N run folders, each with a 20-epoch
    ``history.csv`` (loss, accuracy, val_loss, val_accuracy), a ``result.json`` (status,
    final, best, diagnosis, epochs_run, wall_s, baseline_accuracy, start and finish), an
    ``env.json`` and a ``config.yaml``; the experiment's ``experiment.yaml`` and
    ``summary.csv`` (swept columns ``train.learning_rate`` and ``train.batch_size``, seed,
    status, the final and best metrics, diagnosis). The grid is N/100 learning rates x 10
    batch sizes x 10 seeds; ``--random`` makes it a random search instead (N/2 distinct
    points, 2 seeds each). About 1% of the runs failed, 1% diverged and 0.1% never finished.
    Eight comparison PNGs go into ``plots/`` and five into the best run's ``plots/`` (drawn
    with matplotlib, or copied from ``--plots-from EXPERIMENT``, an experiment ``nnlab plot``
    drew), so the HTML embeds as many images as a real experiment of two swept axes.

    Then it times ``nnlab.report.write_report`` on it (best of ``--repeat``), and the parts:
    ``collect`` (reading every result.json and summary.csv, ranking, verdict, tables) and the
    two renderers. It prints seconds, milliseconds per run and the sizes of report.md and
    report.html (the HTML includes the embedded PNGs, which it also prints on their own).

How to read it
    The report's tables are bounded (``nnlab.report.runs``: at most the best and worst runs
    and settings and a capped list of failures), so the size stays flat as N grows and the
    time grows with N only through reading each run's result.json once. Targets from the
    issue "Sweeps of 10,000 runs": 10,000 runs in <= 30 s, report.html <= 3 MB with plots.
    ``--profile`` prints the 25 most expensive functions (cProfile, cumulative) of one run.

Usage: .venv/bin/python benchmarks/report_scale.py [--runs N ...] [--random] [--repeat K]
                                                  [--plots-from DIR] [--keep DIR] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import json
import math
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
SEEDS_PER_POINT = 10
EPOCHS = 20
COMPARISON_PLOTS = [
    "curves_accuracy.png", "curves_loss.png", "best_val_accuracy_vs_learning_rate.png",
    "best_val_accuracy_vs_batch_size.png", "heatmap_best_val_accuracy.png",
    "final_val_loss_vs_learning_rate.png", "final_val_accuracy_vs_learning_rate.png",
    "final_val_loss_vs_batch_size.png",
]  # fmt: skip
RUN_PLOTS = ["learning_curves.png", "decision_boundary.png", "weights.png", "gradients.png",
             "batches.png"]  # fmt: skip
TRACEBACK = 'Traceback (most recent call last):\n  File "train.py", line 1\nValueError: {}'
SUMMARY_COLUMNS = [
    "run_id", "train.batch_size", "train.learning_rate", "seed", "status", "epochs_run",
    "final_loss", "final_accuracy", "final_val_loss", "final_val_accuracy", "best_loss",
    "best_accuracy", "best_val_loss", "best_val_accuracy", "best_epoch", "wall_s", "diagnosis",
]  # fmt: skip
ENV = {"nnlab": "0.2.0", "keras": "3.15.1", "backend": "tensorflow", "backend_version": "2.21.0",
       "python": "3.11.7", "device": {"requested": "auto", "used": "cpu", "gpus": []},
       "host": "bench", "platform": "Linux"}  # fmt: skip


def points(n_runs: int, random_search: bool, rng: random.Random) -> list[tuple[int, str, int]]:
    """(batch size, learning rate as written, seed) of every run."""
    if random_search:
        out = []
        for _ in range(max(1, n_runs // 2)):
            lr = f"{10 ** rng.uniform(-5, -0.5):.6g}"
            bs = rng.choice(BATCH_SIZES)
            out += [(bs, lr, seed) for seed in (0, 1)]
        return out[:n_runs]
    n_lr = max(1, math.ceil(n_runs / (len(BATCH_SIZES) * SEEDS_PER_POINT)))
    rates = [f"{10 ** (-5 + 4.5 * i / max(1, n_lr - 1)):.4g}" for i in range(n_lr)]
    grid = [(bs, lr, seed) for lr in rates for bs in BATCH_SIZES for seed in range(SEEDS_PER_POINT)]
    return grid[:n_runs]


def run_files(i: int, bs: int, lr: str, seed: int, rng: random.Random) -> tuple[dict, str, dict]:
    """result.json, history.csv text and the summary row of run ``i``."""
    digest = hashlib.md5(str(i).encode()).hexdigest()[:6]
    rid = f"batch_size={bs}_learning_rate={lr}_seed={seed}_{digest}"
    centre = math.exp(-((math.log10(float(lr)) + 2.5) ** 2) / 2)  # best near lr 0.003
    quality = centre * (1 - 0.03 * BATCH_SIZES.index(bs))
    acc = min(0.999, 0.5 + 0.48 * quality + rng.gauss(0, 0.01))
    status = "completed"
    if i % 100 == 7:
        status = "failed"
    elif i % 100 == 41:
        status = "diverged"
    elif i % 1000 == 501:
        status = "running"
    lines = ["epoch,loss,accuracy,val_loss,val_accuracy"]
    for e in range(EPOCHS + 1):
        a = 0.5 + (acc - 0.5) * (1 - math.exp(-e / 5))
        loss = 0.7 - 0.6 * (a - 0.5)
        lines.append(f"{e},{loss:.6f},{a + 0.005:.6f},{loss + 0.01:.6f},{a:.6f}")
    history = "\n".join(lines) + "\n"
    final = {"loss": 0.7 - 0.6 * (acc - 0.5), "accuracy": acc + 0.005,
             "val_loss": 0.71 - 0.6 * (acc - 0.5), "val_accuracy": acc}  # fmt: skip
    best = {k: v for k, v in final.items()}
    if acc > 0.9:
        label = "good fit"
    elif acc > 0.8:
        label = "overfit"
    else:
        label = "underfit"
    if i % 37 == 0:
        label = "unstable"
    result = {"run_id": rid, "status": status, "started": "2026-01-02T10:00:00+00:00",
              "baseline_accuracy": 0.5, "epochs_run": EPOCHS, "best_epoch": EPOCHS,
              "final": final, "best": best,
              "diagnosis": {"label": label, "reason": f"{label}: fabricated run {i}"},
              "wall_s": 3.0, "finished": "2026-01-02T10:00:03+00:00"}  # fmt: skip
    if status == "failed":
        error = f"ValueError: fabricated failure {i % 3}"
        result = {"run_id": rid, "status": status, "started": result["started"],
                  "epochs_run": 2, "error": error, "traceback": TRACEBACK.format(error),
                  "wall_s": 1.0, "finished": result["finished"]}  # fmt: skip
        history = "\n".join(lines[:3]) + "\n"
    elif status == "diverged":
        result.update(diverged_epoch=4, epochs_run=4, error=None,
                      diagnosis={"label": "diverged", "reason": "the loss became NaN"})  # fmt: skip
        acc = 0.5
        result["final"] = result["best"] = {"loss": float("nan"), "val_accuracy": 0.5}
    elif status == "running":
        result = {"run_id": rid, "status": status, "started": result["started"]}
    row = {"run_id": rid, "train.batch_size": bs, "train.learning_rate": lr, "seed": seed,
           "status": status, "epochs_run": result.get("epochs_run", ""),
           "diagnosis": (result.get("diagnosis") or {}).get("label", ""),
           "wall_s": result.get("wall_s", ""),
           "best_epoch": result.get("best_epoch", "")}  # fmt: skip
    for kind in ("final", "best"):
        for metric, value in (result.get(kind) or {}).items():
            row[f"{kind}_{metric}"] = value
    return result, history, row


def draw_png(path: Path, lines: int, rng: random.Random) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100)
    ax = fig.add_subplot()
    for _ in range(lines):
        ax.plot([rng.gauss(0, 1) + x / 5 for x in range(EPOCHS)], linewidth=0.8)
    ax.set_title(path.stem)
    fig.savefig(path)


def add_plots(exp: Path, best_run: Path, plots_from: Path | None, rng: random.Random) -> None:
    (exp / "plots").mkdir()
    (best_run / "plots").mkdir()
    if plots_from is not None:
        for png in sorted((plots_from / "plots").glob("*.png")):
            shutil.copy(png, exp / "plots" / png.name)
        run = next((d for d in sorted(plots_from.iterdir()) if (d / "plots").is_dir()), None)
        for png in sorted((run / "plots").glob("*.png")) if run else []:
            shutil.copy(png, best_run / "plots" / png.name)
        return
    for name in COMPARISON_PLOTS:
        draw_png(exp / "plots" / name, 12, rng)
    for name in RUN_PLOTS:
        draw_png(best_run / "plots" / name, 6, rng)


def fabricate(root: Path, n_runs: int, random_search: bool = False,
              plots_from: Path | None = None) -> Path:  # fmt: skip
    """Write an experiment of ``n_runs`` runs under ``root``; return its folder."""
    rng = random.Random(n_runs)
    exp = root / f"sweep{n_runs}{'-random' if random_search else ''}"
    exp.mkdir(parents=True)
    (exp / "experiment.yaml").write_text(
        f"name: {exp.name}\ndescription: fabricated by benchmarks/report_scale.py\nseed: 0\n"
        "data:\n  name: circles\nmodel:\n  hidden: [16, 16]\ntrain:\n  epochs: 20\n"
        "sweep:\n  train.batch_size: [...]\n  train.learning_rate: [...]\n"
    )
    env = json.dumps(ENV, indent=2) + "\n"
    rows, best = [], (-1.0, "")
    for i, (bs, lr, seed) in enumerate(points(n_runs, random_search, rng)):
        result, history, row = run_files(i, bs, lr, seed, rng)
        run = exp / row["run_id"]
        run.mkdir()
        (run / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        (run / "history.csv").write_text(history)
        (run / "env.json").write_text(env)
        (run / "config.yaml").write_text(
            f"name: {exp.name}\nseed: {seed}\ntrain:\n  batch_size: {bs}\n  learning_rate: {lr}\n"
        )
        rows.append(row)
        score = row.get("best_val_accuracy", -1.0)
        if row["status"] == "completed" and score > best[0]:
            best = (score, row["run_id"])
    with open(exp / "summary.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, SUMMARY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    add_plots(exp, exp / best[1], plots_from, rng)
    return exp


def measure(exp: Path, repeat: int) -> dict[str, float]:
    from nnlab import report

    times = {"write_report": math.inf, "collect": math.inf, "markdown": math.inf, "html": math.inf}
    for _ in range(repeat):
        t = time.perf_counter()
        report.write_report(exp)
        times["write_report"] = min(times["write_report"], time.perf_counter() - t)
        t = time.perf_counter()
        rep = report.collect(exp)
        times["collect"] = min(times["collect"], time.perf_counter() - t)
        t = time.perf_counter()
        report.render_markdown(rep)
        times["markdown"] = min(times["markdown"], time.perf_counter() - t)
        t = time.perf_counter()
        report.render_html(rep)
        times["html"] = min(times["html"], time.perf_counter() - t)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--random", action="store_true", help="a random search, 2 seeds a point")
    parser.add_argument("--repeat", type=int, default=1, help="best of K timings")
    parser.add_argument("--plots-from", type=Path, help="copy the PNGs of this experiment")
    parser.add_argument("--keep", type=Path, help="write the experiments here and keep them")
    parser.add_argument("--profile", action="store_true", help="cProfile one write_report")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="nnlab-report-scale-"))
    try:
        print(f"{'runs':>6} {'make s':>7} {'report s':>9} {'ms/run':>7} {'collect':>8} "
              f"{'md':>6} {'html':>6} {'md KB':>7} {'html KB':>8} {'PNGs KB':>8}")  # fmt: skip
        for n in args.runs:
            t = time.perf_counter()
            exp = fabricate(root, n, args.random, args.plots_from)
            made = time.perf_counter() - t
            times = measure(exp, args.repeat)
            md_kb = (exp / "report.md").stat().st_size / 1024
            html_kb = (exp / "report.html").stat().st_size / 1024
            png_kb = sum(p.stat().st_size for p in exp.rglob("*.png")) / 1024
            print(f"{n:>6} {made:>7.1f} {times['write_report']:>9.2f} "
                  f"{1000 * times['write_report'] / n:>7.3f} {times['collect']:>8.2f} "
                  f"{times['markdown']:>6.2f} {times['html']:>6.2f} {md_kb:>7.0f} "
                  f"{html_kb:>8.0f} {png_kb:>8.0f}", flush=True)  # fmt: skip
            if args.profile:
                from nnlab import report

                prof = cProfile.Profile()
                prof.runcall(report.write_report, exp)
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
