"""What ``train.checkpoint_every`` costs a run, against the same run without it.

What is measured
    One nnlab run (circles, 1000 points, MLP [16, 16], batch 32, 40 epochs, dropout 0.2) on
    each backend, in a fresh process per variant, interleaved ``--repeat K`` times (default
    3); the median of the run's own ``fit_s`` (its ``model.fit``, from result.json) is
    reported:

    plain      the run as it is (Keras' own shuffle of the arrays)
    every-5    ``train.checkpoint_every: 5``: batches come from ``checkpoint.EpochOrder``
               (a PyDataset whose order is a function of the seed and epoch), and every 5
               epochs ``checkpoint.pkl`` is written whole (fsync'd)
    every-1    the same, a checkpoint after every epoch (the worst case)

    The ratios every-N/plain are the price of being able to resume exactly. Measured in
    the same invocation; compare ratios, not seconds (a shared machine is noisy).

Usage: .venv/bin/python benchmarks/checkpoint.py [--repeat K] [--backend tensorflow|jax]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT = """
import json, sys
import nnlab
from nnlab import store
exp = nnlab.run(json.loads(sys.argv[2]), out=sys.argv[1], quiet=True)
result = store.read_json(exp.path / exp.runs[0] / "result.json")
print(json.dumps({"fit_s": result["fit_s"], "status": result["status"]}))
"""
VARIANTS = {"plain": None, "every-5": 5, "every-1": 1}


def config(backend: str, every: int | None) -> dict:
    train = {"epochs": 40, "batch_size": 32, "learning_rate": 0.01}
    if every:
        train["checkpoint_every"] = every
    return {"name": "bench", "backend": backend, "fused": False,
            "data": {"name": "circles", "n_samples": 1000, "noise": 0.1},
            "model": {"hidden": [16, 16], "dropout": 0.2}, "train": train}  # fmt: skip


def one(backend: str, every: int | None) -> float:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "KERAS_BACKEND": backend}
        args = [sys.executable, "-c", SCRIPT, out, json.dumps(config(backend, every))]
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
        said = json.loads(done.stdout.strip().splitlines()[-1])
        assert said["status"] == "completed", said
        assert not list(Path(out).glob("*/*/checkpoint.pkl"))  # removed when the run ended
        return float(said["fit_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["tensorflow", "jax"], action="append")
    args = parser.parse_args()
    for backend in args.backend or ["tensorflow", "jax"]:
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.repeat):
            for name, every in VARIANTS.items():
                times[name].append(one(backend, every))
        base = statistics.median(times["plain"])
        print(f"{backend}: fit_s median of {args.repeat}")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"  {name:9s} {med:7.2f} s  x{med / base:.2f} of plain   "
                  f"({', '.join(f'{v:.2f}' for v in values)})")  # fmt: skip


if __name__ == "__main__":
    main()
