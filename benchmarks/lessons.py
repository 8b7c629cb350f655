"""What each lesson costs to run: its config as shipped, separate runs on TensorFlow against
fused runs on JAX, timed end to end as a user runs them, in one invocation.

For every lesson config (``configs/``, the table of docs/lessons.md):

* ``jax fused``: ``nnlab run CONFIG --backend jax`` (runs that share a program shape train as
  one compiled program), the whole lesson, timed from outside (start and imports included);
* ``tf separate``: ``nnlab run CONFIG --backend tensorflow --no-fused``. First a pilot: one
  seed of every sweep point, runs longer than 25 epochs cut to a tenth of their epochs (at
  least 25), except runs with early stopping, which run whole (where they stop is not known
  from a shorter run). From it an estimate of the whole lesson (``estimate``): the command's
  fixed seconds, counted once, plus, per run, its pilot seconds, its mean epoch time after
  the first epoch (which compiles) times the epochs the pilot left out, and the mean gap
  between runs (each run's plots and TensorBoard files), times the repeats. A pilot run that
  stopped early (divergence) counts as it ran. When the estimate is within ``--budget``
  seconds (default 600, "about 10 minutes") the whole lesson then runs on TensorFlow and
  that measurement is the figure (the estimate printed beside it shows how good the
  extrapolation is); past the budget the estimate is the figure, marked ``extrapolated``.
  Where the pilot is the whole lesson (one seed, nothing cut) it is the measurement.

The data: Pima and the MNIST sample from ``--data-dir`` (default ../shared/datasets); CIFAR-10
only with ``--cifar NPZ`` (a file laid out as Keras' cifar10 arrays), else the lesson is
skipped. Ratios carry over between machines; absolute seconds do not.

    python benchmarks/lessons.py [--only 0 7 11-digits] [--budget 600] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
LESSONS = {
    "0": "parabola-gradient-descent", "1": "pima-batch-size", "2": "pima-learning-rate",
    "3": "mnist-mlp", "4": "mnist-learning-rate", "5": "cifar10-lenet5",
    "6": "circles-activation-depth", "7": "vanishing-gradients",
    "8a": "circles-batch-gradient-descent", "8b": "circles-plateau-and-batch-norm",
    "8c": "circles-small-data-regularization", "9": "blobs-minibatch-loss",
    "10": "pima-learning-rate-search", "11-digits": "optimizer-study-digits",
    "11-mnist": "optimizer-study-mnist",
}  # fmt: skip
PILOT_MIN_EPOCHS = 25  # runs up to this long run whole in the pilot
PILOT_FRACTION = 10


def pilot_epochs(epochs: int) -> int:
    return epochs if epochs <= PILOT_MIN_EPOCHS else max(PILOT_MIN_EPOCHS, epochs // PILOT_FRACTION)


def full_epochs(doc: dict[str, Any]) -> dict[str | None, int]:
    """Each variant's epochs (``None``: the config has no variants)."""
    base = int((doc.get("train") or {}).get("epochs", 100))  # nnlab's default epochs
    variants = (doc.get("sweep") or {}).get("variants") or {}
    return {label: int((v or {}).get("train.epochs", base)) for label, v in variants.items()} or {
        None: base
    }


def stops_early(doc: dict[str, Any], label: str | None) -> bool:
    """Whether the variant's runs use early stopping (its own, or the base config's)."""
    variant = ((doc.get("sweep") or {}).get("variants") or {}).get(label) or {}
    if "train.early_stopping" in variant:
        return bool(variant["train.early_stopping"])
    return bool((doc.get("train") or {}).get("early_stopping"))


def shortened(doc: dict[str, Any]) -> dict[str, Any]:
    """The pilot's config: one seed, and runs of more than ``PILOT_MIN_EPOCHS`` epochs cut to
    ``pilot_epochs``, except where early stopping decides when a run ends (those run whole:
    where they stop is not known from a shorter run). A swept ``train.epochs`` is left as it
    is."""
    pilot = json.loads(json.dumps(doc))
    pilot["repeats"] = 1
    train = pilot.setdefault("train", {})
    variants = (pilot.get("sweep") or {}).get("variants") or {}
    full = full_epochs(doc)
    if not variants:
        if not stops_early(doc, None):
            train["epochs"] = pilot_epochs(full[None])
        return pilot
    train["epochs"] = pilot_epochs(int(train.get("epochs", 100)))
    for label in variants:
        variants[label] = dict(variants[label] or {})
        whole = stops_early(doc, label)
        variants[label]["train.epochs"] = full[label] if whole else pilot_epochs(full[label])
    return pilot


def with_data(doc: dict[str, Any], data_dir: Path, cifar: Path | None) -> dict[str, Any] | None:
    """The config reading the local copies of its data; None when there is none."""
    name = doc["data"]["name"]
    files = {"pima": data_dir / "pima-indians-diabetes.csv", "mnist": data_dir / "mnist-5k.npz",
             "cifar10": cifar}  # fmt: skip
    if name not in files:
        return doc
    path = files[name]
    if path is None or not Path(path).is_file():
        return None
    return {**doc, "data": {**doc["data"], "path": str(Path(path).resolve())}}


def nnlab(doc: dict[str, Any], out: Path, *args: str) -> float:
    """``nnlab run`` of ``doc`` into ``out``, timed from outside; the seconds."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nnlab", "run", str(path), "-o", str(out), "-q",
                    *args], check=True, env=env)  # fmt: skip
    return time.perf_counter() - t


def run_dirs(exp: Path) -> list[Path]:
    return [p.parent for p in sorted(exp.glob("*/result.json"))]


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def estimate(exp: Path, total: float, doc: dict[str, Any]) -> tuple[float, bool]:
    """The whole lesson's seconds from its pilot (module docstring), and whether the pilot
    cut any run short (False: the pilot was the whole lesson but for the seeds).

    The pilot's seconds split three ways: the runs' own (``wall_s``, extrapolated to their
    full epochs), the gaps between one run's end and the next one's start (its plots and
    TensorBoard files: the mean gap is added to every run of the lesson), and the rest, the
    command's fixed cost (start, imports, the experiment's plots and report), counted once.
    """
    full = full_epochs(doc)
    summary = pd.read_csv(exp / "summary.csv")
    label_of = dict(zip(summary["run_id"], summary.get("variant", [None] * len(summary)),
                        strict=True))  # fmt: skip
    spans, runs, cut = [], 0.0, False
    for run in run_dirs(exp):
        result = json.loads((run / "result.json").read_text())
        ran = int(result.get("epochs_run") or 0)
        pilot = int(yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"])
        label = label_of.get(run.name)
        whole = full.get(label if isinstance(label, str) else None, pilot)
        whole = whole if pilot == pilot_epochs(whole) else pilot  # a swept train.epochs
        wall = float(result["wall_s"])
        spans.append((_seconds(result["started"]), _seconds(result["finished"]), wall))
        if ran < pilot or whole == pilot:  # stopped early (the full run stops there too)
            runs += wall
            continue
        cut = True
        seconds = pd.read_csv(run / "history.csv")["epoch_seconds"].iloc[1:]
        steady = seconds.iloc[1:] if len(seconds) > 1 else seconds
        runs += wall + float(steady.mean()) * (whole - pilot)
    spans.sort()
    gaps = [max(0.0, b[0] - a[1]) for a, b in itertools.pairwise(spans)]
    gap = sum(gaps) / len(gaps) if gaps else 0.0
    fixed = max(0.0, total - sum(w for *_, w in spans) - gap * len(spans))
    repeats = int(doc.get("repeats", 1))
    return fixed + repeats * (runs + gap * len(spans)), cut


def fused_members(exp: Path) -> tuple[int, int]:
    """(runs trained fused, runs)."""
    dirs = run_dirs(exp)
    fused = sum(1 for d in dirs if json.loads((d / "env.json").read_text()).get("fused"))
    return fused, len(dirs)


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def pilot_words(doc: dict[str, Any], pilot: dict[str, Any]) -> str:
    """``1 of 3 seeds, 400 of 4000 epochs (early stopping's runs whole)``."""
    repeats = int(doc.get("repeats", 1))
    parts = [f"1 of {repeats} seeds"] if repeats > 1 else []
    full, short = full_epochs(doc), full_epochs(pilot)
    pairs = sorted({(short[k], full[k]) for k in full if short[k] != full[k]}, key=lambda p: p[1])
    parts += [f"{p} of {f} epochs" for p, f in pairs]
    if pairs and any(stops_early(doc, k) for k in full):
        parts.append("early stopping's runs whole")
    return ", ".join(parts) or "the whole lesson"


def time_lesson(key: str, doc: dict[str, Any], out: Path, budget: float) -> dict[str, Any]:
    row: dict[str, Any] = {"lesson": key, "config": doc["name"]}
    jax_s = nnlab(doc, out / "jax", "--backend", "jax")
    row["fused_runs"], row["runs"] = fused_members(out / "jax" / doc["name"])
    row["jax_fused_s"] = round(jax_s, 1)
    pilot = shortened(doc)
    pilot_s = nnlab(pilot, out / "pilot", "--backend", "tensorflow", "--no-fused")
    guess, cut = estimate(out / "pilot" / doc["name"], pilot_s, doc)
    row["tf_estimate_s"], row["pilot_s"] = round(guess, 1), round(pilot_s, 1)
    row["pilot"] = pilot_words(doc, pilot)
    if not cut and int(doc.get("repeats", 1)) == 1:  # the pilot was the whole lesson
        row["tf_separate_s"], row["tf_how"] = round(pilot_s, 1), "measured"
    elif guess <= budget:
        tf_s = nnlab(doc, out / "tf", "--backend", "tensorflow", "--no-fused")
        row["tf_separate_s"], row["tf_how"] = round(tf_s, 1), "measured"
    else:
        row["tf_separate_s"], row["tf_how"] = round(guess, 1), "extrapolated"
    row["ratio"] = round(row["tf_separate_s"] / jax_s, 1)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table of docs/lessons.md ("What each lesson costs to run")."""
    lines = ["| lesson | config | runs | TensorFlow, separate runs | JAX, fused | ratio |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in rows:
        if "skipped" in r:
            why = "no local copy of its data" if r["skipped"] == "no data" else "a run failed"
            lines.append(f"| {r['lesson']} | `{r['config']}` | – | not timed: {why} | – | – |")
            continue
        pilot = f"extrapolated from a pilot of {r['pilot']} ({minutes(r['pilot_s'])})"
        how = "measured" if r["tf_how"] == "measured" else pilot
        fused = "" if r["fused_runs"] == r["runs"] else f" ({r['fused_runs']} fused)"
        lines.append(f"| {r['lesson']} | `{r['config']}` | {r['runs']} | "
                     f"{minutes(r['tf_separate_s'])}, {how} | {minutes(r['jax_fused_s'])}{fused} "
                     f"| {r['ratio']:.1f}x |")  # fmt: skip
    return "\n".join(lines)


def report(rows: list[dict[str, Any]]) -> None:
    """The totals, the estimate's accuracy where a lesson was also measured, the table."""
    timed = [r for r in rows if "skipped" not in r]
    tf_total = sum(r["tf_separate_s"] for r in timed)
    jax_total = sum(r["jax_fused_s"] for r in timed)
    print(
        f"\nall {len(timed)} timed lessons: tf separate {minutes(tf_total)}, jax fused "
        f"{minutes(jax_total)}: {tf_total / max(jax_total, 1e-9):.1f}x"
    )
    checked = [r for r in timed if r["tf_how"] == "measured" and r["pilot"] != "the whole lesson"]
    if checked:
        errors = [r["tf_estimate_s"] / r["tf_separate_s"] for r in checked]
        print(
            f"the pilot's estimate over the measurement, where both exist: "
            f"{min(errors):.2f} to {max(errors):.2f}"
        )

    print("\n" + markdown(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=list(LESSONS), help="these lessons alone")
    ap.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="run the whole lesson on TensorFlow when the estimate is within this",
    )
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--cifar", type=Path, help="a CIFAR-10 .npz in Keras' layout")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument(
        "--from-json", type=Path, help="print the tables of a run's --json; time nothing"
    )
    a = ap.parse_args()
    if a.from_json:
        report(json.loads(a.from_json.read_text()))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in a.only or LESSONS:
            doc = yaml.safe_load((ROOT / "configs" / f"{LESSONS[key]}.yaml").read_text())
            local = with_data(doc, a.data_dir, a.cifar)
            if local is None:
                print(f"lesson {key} ({doc['name']}): skipped, no local copy of its data")
                rows.append({"lesson": key, "config": doc["name"], "skipped": "no data"})
                continue
            try:
                row = time_lesson(key, local, Path(tmp) / key, a.budget)
            except subprocess.CalledProcessError as e:  # the others still get timed
                print(f"lesson {key} ({doc['name']}): failed: {e}", flush=True)
                row = {"lesson": key, "config": doc["name"], "skipped": "failed"}
            rows.append(row)
            if a.json:  # after every lesson: an interruption keeps what was timed
                a.json.write_text(json.dumps(rows, indent=1))
            if "skipped" in row:
                continue
            print(f"lesson {key} ({row['config']}, {row['runs']} runs, {row['fused_runs']} fused):"
                  f" tf separate {minutes(row['tf_separate_s'])} ({row['tf_how']}; estimate "
                  f"{minutes(row['tf_estimate_s'])} from a pilot of {row['pilot']} "
                  f"in {minutes(row['pilot_s'])}), jax fused {minutes(row['jax_fused_s'])}: "
                  f"{row['ratio']}x", flush=True)  # fmt: skip
    report(rows)


if __name__ == "__main__":
    main()
