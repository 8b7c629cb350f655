"""How the work around each run grows with the size of a sweep: N = 100, 1,000, 10,000 runs.

For each N this fabricates a real experiment folder in a temporary directory, as a finished
sweep leaves it (a 100 x 10 x repeats grid over train.learning_rate and train.batch_size on
circles, cut to N runs, varied seeds and numbers): per run ``config.yaml``, ``result.json``,
``env.json`` and a 20-epoch ``history.csv``; ``experiment.yaml`` and ``summary.csv``. Then
it times, each in this process:

- ``expand``: ``load_config`` + ``expand`` of a grid of N points (what ``validate`` and
  ``--dry-run`` pay before the backend; nothing trains);
- ``record``: the summary bookkeeping of N finished runs as ``execute`` does it
  (``SummaryFile.append`` per run), against the old way (the whole file rewritten after
  every run, measured up to 1,000 runs: it is quadratic);
- ``ls``: ``nnlab ls EXPERIMENT`` (``listing.table``);
- ``plot``: ``nnlab plot EXPERIMENT`` (``plots.plot_dir``: the comparison plots, and the
  per-run plots only for experiments under the per-run threshold);
- ``report``: ``nnlab report EXPERIMENT`` (``report.write_report``; its HTML size too).

It prints seconds and milliseconds per run at each N so the growth is visible, and the
targets of the scale issue: expand 10,000 points <= 2 s, recording <= 1 ms a run, plot and
report of 10,000 runs <= 30 s each. Run: ``.venv/bin/python benchmarks/scale.py`` (about
1 minute here; ``--sizes 100 1000`` for a quick look). Writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

LEARNING_RATES = [round(10 ** (-4 + 3 * i / 99), 6) for i in range(100)]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, "full"]
EPOCHS = 20


def base_doc(name: str) -> dict:
    return {
        "name": name,
        "data": {"name": "circles", "n_samples": 1000, "noise": 0.1},
        "model": {"hidden": [16, 16]},
        "train": {"epochs": EPOCHS, "batch_size": 32, "learning_rate": 0.001},
    }


def grid_doc(name: str, n: int) -> dict:
    """A grid of about ``n`` points (learning rates x batch sizes), repeats making up the rest."""
    rates = LEARNING_RATES[: max(1, min(100, n // 10))]
    sizes = BATCH_SIZES[: max(1, min(10, n // len(rates)))]
    repeats = max(1, n // (len(rates) * len(sizes)))
    doc = base_doc(name)
    doc["repeats"] = repeats
    doc["sweep"] = {"train.learning_rate": rates, "train.batch_size": sizes}
    return doc


def history_text(rng: random.Random, lr: float) -> str:
    speed = 0.05 + 2 * lr**0.5 * rng.uniform(0.5, 1.5)
    lines = ["epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,epoch_seconds"]
    for e in range(EPOCHS + 1):
        loss = 0.69 * math.exp(-speed * e) + 0.05 + rng.gauss(0, 0.005)
        val = loss * 1.05 + rng.gauss(0, 0.01)
        acc = min(0.999, 1 - loss * 0.7)
        lines.append(f"{e},{loss:.5f},{acc:.4f},{val:.5f},{min(0.999, 1 - val * 0.7):.4f},"
                     f"{lr},{0.0 if e == 0 else 0.05:.2f}")  # fmt: skip
    return "\n".join(lines) + "\n"


def fabricate(root: Path, n: int) -> Path:
    """A finished experiment of ``n`` runs under ``root``; returns its folder."""
    from nnlab import store, summary
    from nnlab.config import validate
    from nnlab.expansion import expand

    specs = expand(validate(grid_doc(f"scale-{n}", n)))[:n]
    exp = root / f"scale-{n}"
    exp.mkdir(parents=True)
    store.write_yaml(exp / store.EXPERIMENT_FILE, grid_doc(f"scale-{n}", n))
    rng = random.Random(n)
    env = {"nnlab": "bench", "backend": "tensorflow", "python": sys.version.split()[0]}
    results = {}
    for i, spec in enumerate(specs):
        run = exp / spec.run_id
        run.mkdir()
        lr = spec.config.train.learning_rate
        text = history_text(rng, lr)
        (run / store.HISTORY_FILE).write_text(text)
        last = text.splitlines()[-1].split(",")
        status = "failed" if i % 997 == 13 else "diverged" if i % 1999 == 7 else "completed"
        result = {
            "run_id": spec.run_id, "status": status, "epochs_run": EPOCHS, "best_epoch": EPOCHS,
            "wall_s": round(rng.uniform(1, 3), 3), "baseline_accuracy": 0.5,
            "final": {"loss": float(last[1]), "accuracy": float(last[2]),
                      "val_loss": float(last[3]), "val_accuracy": float(last[4])},
            "best": {"val_loss": float(last[3]), "val_accuracy": float(last[4])},
            "diagnosis": {"label": rng.choice(["good fit", "underfit", "overfit"]),
                          "reason": "fabricated"},
        }  # fmt: skip
        if status == "failed":
            result["error"] = "RuntimeError: fabricated failure"
        (run / store.RESULT_FILE).write_text(json.dumps(result))
        (run / store.ENV_FILE).write_text(json.dumps(env))
        (run / store.CONFIG_FILE).write_text(json.dumps(spec.config.run_dict()))
        results[spec.run_id] = result
    summary.write_summary(exp, specs, results)
    return exp


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def bench_expand(root: Path, n: int) -> float:
    import yaml

    from nnlab.config import load_config
    from nnlab.expansion import expand

    path = root / f"grid-{n}.yaml"
    doc = grid_doc(f"grid-{n}", n)
    doc["repeats"] = 1
    rates = LEARNING_RATES[: max(1, min(100, n // 10))]
    doc["sweep"] = {"train.learning_rate": rates,
                    "train.epochs": list(range(1, n // len(rates) + 1))}  # fmt: skip
    path.write_text(yaml.safe_dump(doc))
    seconds, specs = timed(lambda: expand(load_config(path)[0]))
    assert len(specs) == len(rates) * (n // len(rates)), len(specs)
    return seconds


def bench_record(root: Path, n: int, old: bool) -> float:
    from nnlab import summary
    from nnlab.config import validate
    from nnlab.expansion import expand

    specs = expand(validate(grid_doc("rec", n)))[:n]
    exp = root / f"record-{n}-{'old' if old else 'new'}"
    exp.mkdir()
    result = {
        "status": "completed",
        "epochs_run": 20,
        "best_epoch": 12,
        "wall_s": 1.0,
        "final": {"loss": 0.1, "val_loss": 0.2, "val_accuracy": 0.9},
        "best": {"val_loss": 0.15, "val_accuracy": 0.92},
        "diagnosis": {"label": "x"},
    }
    t = time.perf_counter()
    if old:
        done: dict = {}
        for spec in specs:
            done[spec.run_id] = result
            summary.write_summary(exp, specs, done)
    else:
        book = summary.SummaryFile(exp, specs)
        book.rewrite({})
        for spec in specs:
            book.append(spec.run_id, result)
        book.rewrite(book.results)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = ap.parse_args()
    from nnlab import listing, plots, report

    rows = []
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-scale-") as tmp:
        root = Path(tmp)
        for n in args.sizes:
            t_fab, exp = timed(fabricate, root, n)
            row = {"N": n, "fabricate": t_fab}
            row["expand"] = bench_expand(root, n)
            row["record"] = bench_record(root, n, old=False)
            row["record_old"] = bench_record(root, n, old=True) if n <= 1000 else math.nan
            row["ls"], _ = timed(listing.table, exp)
            row["plot"], written = timed(plots.plot_dir, exp)
            row["plots"] = len(written)
            row["report"], (_, html) = timed(report.write_report, exp)
            row["html_mb"] = html.stat().st_size / 2**20
            rows.append(row)
            print(f"N={n}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items() if k != "N"),
                  flush=True)  # fmt: skip
    print()
    print(f"{'':>12s}" + "".join(f"{r['N']:>12,d}" for r in rows))
    for key, unit in (("expand", "s"), ("record", "s"), ("record_old", "s"), ("ls", "s"),
                      ("plot", "s"), ("report", "s")):  # fmt: skip
        print(f"{key + ' ' + unit:>12s}" + "".join(f"{r[key]:>12.3f}" for r in rows))
        print(f"{'  ms/run':>12s}" + "".join(f"{1000 * r[key] / r['N']:>12.3f}" for r in rows))
    print(f"{'plots':>12s}" + "".join(f"{r['plots']:>12d}" for r in rows))
    print(f"{'html MB':>12s}" + "".join(f"{r['html_mb']:>12.2f}" for r in rows))
    for r in rows:
        if r["record_old"] == r["record_old"]:  # measured
            print(f"N={r['N']}: recording, appended vs rewritten after every run: "
                  f"{r['record_old'] / r['record']:.1f}x faster")  # fmt: skip
    big = next((r for r in rows if r["N"] >= 10000), None)
    checks = [("recording <= 1 ms a run", all(r["record"] / r["N"] <= 1e-3 for r in rows))]
    if big is not None:
        checks += [
            ("expand 10,000 points <= 2 s", big["expand"] <= 2),
            ("plot of 10,000 runs <= 30 s", big["plot"] <= 30),
            ("report of 10,000 runs <= 30 s", big["report"] <= 30),
            ("report.html of 10,000 runs <= 3 MB", big["html_mb"] <= 3),
        ]
    else:
        print("(the 10,000-run targets need --sizes ... 10000)")
    for what, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
