"""Builders shared by the tests of ``nnlab.plots``: histories, run folders, boundary
frames and captured statistics, written as ``store`` and ``capture`` write them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nnlab import results, store


def history(n: int = 6, *, lr: list[float] | None = None, val: bool = True) -> pd.DataFrame:
    """A run whose validation loss is lowest at epoch 3 and accuracy highest at epoch 4."""
    epochs = np.arange(n)
    data: dict[str, object] = {
        "epoch": epochs,
        "loss": 1.0 / (epochs + 1),
        "accuracy": 0.5 + 0.08 * epochs,
    }
    if val:
        val_loss = np.array([0.9, 0.6, 0.5, 0.4, 0.45, 0.6, 0.7, 0.8][:n])
        val_acc = np.array([0.5, 0.6, 0.7, 0.75, 0.8, 0.78, 0.77, 0.76][:n])
        data |= {"val_loss": val_loss, "val_accuracy": val_acc}
    data["learning_rate"] = lr if lr is not None else [1e-3] * n
    data["epoch_seconds"] = [0.1] * n
    return pd.DataFrame(data)


def write_run(
    run_dir: Path,
    hist: pd.DataFrame | str,
    result: dict[str, object] | None = None,
    boundary: pd.DataFrame | None = None,
) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(hist, str):
        (run_dir / store.HISTORY_FILE).write_text(hist)
    else:
        hist.to_csv(run_dir / store.HISTORY_FILE, index=False)
    if result is not None:
        (run_dir / store.RESULT_FILE).write_text(json.dumps(result))
    if boundary is not None:
        boundary.to_csv(run_dir / store.BOUNDARY_FILE, index=False)
    return run_dir


def boundary_frame(nx: int = 7, ny: int = 5, classes: int = 2, shuffle: bool = False):
    xs = np.linspace(-1.0, 1.0, nx)
    ys = np.linspace(-2.0, 2.0, ny)
    gx, gy = np.meshgrid(xs, ys)  # sorted by x2, then x1
    if classes == 2:
        value = 1.0 / (1.0 + np.exp(-(gx + gy)))
    else:
        value = (np.arange(gx.size) % classes).reshape(gx.shape).astype(float)
    rows = [
        ("grid", a, b, v) for a, b, v in zip(gx.ravel(), gy.ravel(), value.ravel(), strict=True)
    ]
    rows += [("train", 0.1 * k, -0.1 * k, k % classes) for k in range(8)]
    rows += [("val", -0.1 * k, 0.1 * k, k % classes) for k in range(3)]
    df = pd.DataFrame(rows, columns=["kind", "x1", "x2", "value"])
    if shuffle:
        df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return df, xs, ys, value


def png_size(path: Path) -> int:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path.stat().st_size


AXIS_BS, AXIS_LR = "train.batch_size", "train.learning_rate"


LAYERS = ["dense1", "dense2", "dense3", "dense4", "output"]


EPOCHS = 4


SEEDS = (0, 1, 2)


SUMMARY_COLUMNS = (
    "run_id,model.activation,seed,status,epochs_run,final_val_accuracy,best_val_accuracy,"
    "best_epoch,wall_s,diagnosis"
)


def grad_std(activation: str, depth: int, epoch: int, seed: int) -> float:
    """sigmoid: the gradient std shrinks 10x per layer away from the output; tanh: constant.
    The seed multiplies by 1, 2, 4, so the geometric mean over seeds is 2x the seed-0 value."""
    base = 10.0 ** -(len(LAYERS) - 1 - depth) if activation == "sigmoid" else 1e-2
    return base * 2.0**seed * (1.0 + 0.1 * epoch)


def long_rows(activation: str, seed: int, kind: str, epochs: int = EPOCHS) -> list[str]:
    rows = []
    for epoch in range(epochs + 1):
        for depth, layer in enumerate(LAYERS):
            std = grad_std(activation, depth, epoch, seed)
            tensors = ("kernel",) if kind == "gradients" else ("kernel", "bias")
            for tensor in tensors:
                stats = {"mean": (depth - 2) * 1e-3, "std": std, "norm": 10 * std}
                if kind == "gradients":
                    stats["update_ratio"] = 1e-3 * std / 1e-2
                if tensor == "bias":
                    stats = {k: v / 10 for k, v in stats.items()}
                rows += [f"{epoch},{layer},{tensor},{s},{v!r}\n" for s, v in stats.items()]
    return rows


def write_long(path: Path, rows: list[str], cut: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("epoch,layer,tensor,stat,value\n" + "".join(rows) + (cut or ""))
    return path


def batches_text(epochs: int = 3, per_epoch: int = 5, n: int = 150) -> str:
    lines = ["epoch,batch,step,size,loss,accuracy\n"]
    step = 0
    for epoch in range(1, epochs + 1):
        for batch in range(per_epoch):
            step += 1
            size = min(32, n - batch * 32)
            loss = 1.0 / epoch + 0.01 * batch
            lines.append(f"{epoch},{batch},{step},{size},{loss!r},{0.5 + 0.1 * epoch!r}\n")
    return "".join(lines)


def summary_of(exp: Path) -> pd.DataFrame:
    return results.read_summary(exp / store.SUMMARY_FILE)
