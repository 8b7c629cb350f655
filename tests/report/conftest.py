"""Fixtures of the report tests: a synthetic experiment folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from nnlab import store

TRACEBACK = "Traceback (most recent call last):\n  File 'builder.py'\nValueError: bad width"


def write_png(path: Path, color: str = "tab:blue") -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5), dpi=40)
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1], color=color)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def make_experiment(root: Path, description: str = "Which activation? <b>tanh</b> & co") -> Path:
    """tanh (3 seeds) clearly beats sigmoid (2 completed seeds, 1 diverged); one relu run
    failed. Three comparison PNGs and the best run's learning curves: 4 PNGs."""
    exp = root / "acts"
    exp.mkdir(parents=True)
    doc = {"name": "acts", "description": description, "repeats": 3,
           "sweep": {"model.activation": ["tanh", "sigmoid", "relu"]}}  # fmt: skip
    (exp / store.EXPERIMENT_FILE).write_text(yaml.safe_dump(doc, sort_keys=False))
    runs = [  # activation, seed, status, best_val_accuracy, diagnosis
        ("tanh", 0, "completed", 0.95, "good fit"),
        ("tanh", 1, "completed", 0.97, "good fit"),
        ("tanh", 2, "completed", 0.96, "overfit"),
        ("sigmoid", 0, "completed", 0.88, "underfit"),
        ("sigmoid", 1, "completed", 0.86, "underfit"),
        ("sigmoid", 2, "diverged", 0.52, "diverged"),
        ("relu", 0, "failed", None, None),
    ]
    rows = []
    for act, seed, status, acc, label in runs:
        rid = f"activation={act}_seed={seed}_abc{seed}"
        run = exp / rid
        run.mkdir()
        result = {"run_id": rid, "status": status, "baseline_accuracy": 0.5, "epochs_run": 20,
                  "wall_s": 10.0, "started": "2026-01-02T10:00:00+00:00",
                  "finished": "2026-01-02T10:05:00+00:00"}  # fmt: skip
        if acc is not None:
            result.update(final={"val_accuracy": acc - 0.01, "val_loss": 1 - acc},
                          best={"val_accuracy": acc, "val_loss": 0.9 - acc})  # fmt: skip
        if label:
            result["diagnosis"] = {"label": label, "reason": f"{label} because of {act}"}
        if status == "diverged":
            result.update(diverged_epoch=7, error=None)
        if status == "failed":
            result.update(error="ValueError: bad width", traceback=TRACEBACK, epochs_run=0)
        store.write_json(run / store.RESULT_FILE, result)
        rows.append({"run_id": rid, "model.activation": act, "seed": seed, "status": status,
                     "epochs_run": result["epochs_run"],
                     "final_val_loss": None if acc is None else 1 - acc,
                     "final_val_accuracy": None if acc is None else acc - 0.01,
                     "best_val_loss": None if acc is None else 0.9 - acc,
                     "best_val_accuracy": acc, "best_epoch": 15, "wall_s": 10.0,
                     "diagnosis": label})  # fmt: skip
    pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    best = exp / "activation=tanh_seed=1_abc1"
    env = {"nnlab": "0.1.0", "keras": "3.3.3", "backend": "tensorflow", "python": "3.11.7",
           "device": {"used": "cpu", "gpus": []}, "host": "lab-host"}  # fmt: skip
    store.write_json(best / store.ENV_FILE, env)
    write_png(best / "plots" / "learning_curves.png")
    for name in ("curves_loss.png", "curves_accuracy.png", "best_val_accuracy_vs_activation.png"):
        write_png(exp / "plots" / name)
    return exp


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    return make_experiment(tmp_path)
