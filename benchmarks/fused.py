"""Fused sweeps against the ways people train many small runs today, in one invocation.

The question is the Pima learning-rate sweep: MLP 8-12-8-1 on raw features, Adam at 4 rates
(0.1, 0.01, 0.001, 0.0001), batch 10, 100 epochs, 25 % stratified validation every epoch, at
K = 12 runs (3 seeds) and K = 192 (48 seeds). Every variant is timed end to end as a user runs
it, in its own process (start, imports and every default output included):

* ``loop``: plain Keras on TensorFlow, a ``for seed ...: model.fit`` loop (the seeds' way);
* ``nnlab-tf`` / ``nnlab-jax``: ``nnlab run --no-fused`` on each backend;
* ``fused``: ``nnlab run`` (JAX, fused by default).

The non-fused variants are sampled (``--sample`` runs, default 4) and extrapolated: the
command's fixed cost (start, imports, plots of the experiment) plus K times the mean time of
a run; this is said in the output. Training alone compares the loop's summed ``fit`` seconds
with the fused group's build + compile + train seconds. Ratios, not absolute times, are what
carry over between machines.

Then two lessons, each variant run whole (not sampled), end to end: the vanishing-gradients
lesson (``configs/vanishing-gradients.yaml``, 3 activations x 5 seeds, with its captures) and
the MNIST MLP of ``configs/mnist-learning-rate.yaml`` on the 5k sample (3 rates x 2 seeds).

    python benchmarks/fused.py [--data PIMA.csv] [--sample 4] [--k 12 192] [--no-lessons]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RATES = [0.1, 0.01, 0.001, 0.0001]
EPOCHS, BATCH = 100, 10

LOOP = """
import sys, time, json
t0 = time.perf_counter()
import os
os.environ["KERAS_BACKEND"] = "tensorflow"
import keras, numpy as np, pandas as pd
from sklearn.model_selection import train_test_split
imports = time.perf_counter() - t0
frame = pd.read_csv(sys.argv[1], header=None).to_numpy("float32")
x, y = frame[:, :8], frame[:, 8]
runs = json.loads(sys.argv[2])
fit = []
for lr, seed in runs:
    keras.utils.set_random_seed(seed)
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(xt, yt, batch_size=10, epochs=100, validation_data=(xv, yv), verbose=0)
    fit.append(time.perf_counter() - t)
    keras.backend.clear_session()
print(json.dumps({"imports": imports, "fit": fit, "total": time.perf_counter() - t0}))
"""


def config(data: str, seeds: int) -> dict:
    return {
        "name": "bench", "repeats": seeds,
        "data": {"name": "pima", "path": data, "scale": "none", "validation": 0.25},
        "model": {"kind": "mlp", "hidden": [12, 8]},
        "train": {"epochs": EPOCHS, "batch_size": BATCH, "optimizer": "adam"},
        "sweep": {"train.learning_rate": RATES},
    }  # fmt: skip


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}


def nnlab(cfg: dict, out: Path, *args: str) -> tuple[float, list[dict]]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{cfg['name']}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nnlab", "run", str(path), "-o", str(out), "-q",
                    *args], check=True, env=env())  # fmt: skip
    total = time.perf_counter() - t
    results = [json.loads(p.read_text()) for p in (out / cfg["name"]).glob("*/result.json")]
    return total, results


def sampled(cfg: dict, out: Path, sample: int, *args: str) -> tuple[float, float, float]:
    """Run ``sample`` runs; returns the command's fixed seconds (total less the runs' own),
    and one run's mean wall and fit seconds."""
    small = {**cfg, "repeats": 1, "sweep": {"train.learning_rate": RATES[:sample]}}
    total, results = nnlab(small, out, *args)
    walls = [r["wall_s"] for r in results]
    fits = [r["fit_s"] for r in results]
    return max(0.0, total - sum(walls)), sum(walls) / len(walls), sum(fits) / len(fits)


def lessons(out: Path, mnist: Path) -> None:
    """The lessons' rows: nnlab on TensorFlow and on JAX (one by one) against fused."""
    vanishing = yaml.safe_load((ROOT / "configs" / "vanishing-gradients.yaml").read_text())
    vanishing["repeats"] = 5
    cases = [("vanishing gradients, 3 x 5 seeds", vanishing)]
    if mnist.is_file():
        doc = yaml.safe_load((ROOT / "configs" / "mnist-learning-rate.yaml").read_text())
        doc.update(repeats=2, name="mnist-5k")
        doc["data"] = {**doc["data"], "path": str(mnist)}
        cases.append(("MNIST-5k MLP, 3 rates x 2 seeds", doc))
    for title, doc in cases:
        variants = {"nnlab tf": ("--no-fused", "--backend", "tensorflow"),
                    "nnlab jax": ("--no-fused", "--backend", "jax"), "fused": ()}  # fmt: skip
        times = {name: nnlab(doc, out / f"{doc['name']}-{name.replace(' ', '-')}", *args)[0]
                 for name, args in variants.items()}  # fmt: skip
        fused = times["fused"]
        print(f"\n{title}: end to end nnlab tf {times['nnlab tf']:.1f} s, nnlab jax "
              f"{times['nnlab jax']:.1f} s, fused {fused:.1f} s = "
              f"{times['nnlab tf'] / fused:.1f}x and {times['nnlab jax'] / fused:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = ROOT.parent / "shared" / "datasets" / "pima-indians-diabetes.csv"
    ap.add_argument("--data", default=str(default_data))
    ap.add_argument("--sample", type=int, default=4)
    ap.add_argument("--k", type=int, nargs="+", default=[12, 192])
    ap.add_argument("--no-lessons", dest="lessons", action="store_false")
    a = ap.parse_args()
    n_train = 576
    steps = EPOCHS * -(-n_train // BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        runs = [[RATES[i % 4], i // 4] for i in range(a.sample)]
        loop = json.loads(subprocess.run(
            [sys.executable, "-c", LOOP, a.data, json.dumps(runs)], check=True, env=env(),
            capture_output=True, text=True).stdout.strip().splitlines()[-1])  # fmt: skip
        loop_fit = sum(loop["fit"]) / len(loop["fit"])
        loop_fixed = loop["total"] - sum(loop["fit"])
        print(f"loop (plain Keras, TensorFlow): {len(runs)} runs sampled, {loop_fit:.1f} s fit "
              f"per run, {loop_fixed:.1f} s start and imports; extrapolated to K")  # fmt: skip
        tf = sampled(config(a.data, 1), out / "tf", a.sample, "--no-fused", "--backend",
                     "tensorflow")  # fmt: skip
        jx = sampled(config(a.data, 1), out / "jax", a.sample, "--no-fused", "--backend", "jax")
        for k in a.k:
            loop_total = loop_fixed + k * loop_fit
            tf_total, jax_total = tf[0] + k * tf[1], jx[0] + k * jx[1]
            total, results = nnlab(config(a.data, k // 4), out / f"fused{k}")
            group = results[0]["fused"]
            members = sum(1 for _ in results)
            fused_train = group["build_s"] + group["compile_s"] + group["train_s"]
            us = group["train_s"] / (group["members"] * steps) * 1e6
            print(f"\nK = {k} ({members} runs in groups of {group['members']})")
            print(f"  end to end: loop {loop_total:8.1f} s   nnlab tf {tf_total:8.1f} s   "
                  f"nnlab jax {jax_total:8.1f} s   fused {total:6.1f} s")  # fmt: skip
            print(
                f"  fused speed-up, end to end: {loop_total / total:6.1f}x the loop, "
                f"{tf_total / total:6.1f}x nnlab tf, {jax_total / total:6.1f}x nnlab jax"
            )
            print(f"  training alone: loop fit {k * loop_fit:.1f} s vs fused build "
                  f"{group['build_s']:.2f} + compile {group['compile_s']:.2f} + train "
                  f"{group['train_s']:.2f} s = {k * loop_fit / fused_train:.1f}x; "
                  f"vs nnlab jax fit {jx[2] * k:.1f} s = "
                  f"{jx[2] * k / fused_train:.1f}x")  # fmt: skip
            print(f"  {us:.2f} us per member-step ({members} members x {steps} steps)")
        if a.lessons:
            lessons(out, Path(a.data).parent / "mnist-5k.npz")


if __name__ == "__main__":
    main()
