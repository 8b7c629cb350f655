"""``train.checkpoint_every``: a run killed with SIGKILL half-way continues from its last
checkpoint when the same call runs again, trains only the epochs left, writes each epoch
once, and ends with the weights of a run that was never interrupted, on TensorFlow and JAX
(shuffled batches, dropout and Gaussian noise, early stopping's and a plateau schedule's
state). Driven through ``nnlab.run`` in processes of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnlab
from nnlab import store

pytestmark = pytest.mark.slow

EPOCHS, EVERY = 60, 5
CONFIG = {
    "name": "ckpt",
    "data": {"name": "circles", "n_samples": 400, "noise": 0.15},
    "model": {"hidden": [32, 32], "dropout": 0.3, "noise": 0.05},
    "train": {
        "epochs": EPOCHS, "batch_size": 16, "learning_rate": 0.01, "shuffle": True,
        "checkpoint_every": EVERY, "save_model": "final",
        "early_stopping": {"patience": EPOCHS, "restore_best_weights": True},
        "lr_schedule": {"kind": "plateau", "patience": 3, "factor": 0.7},
    },
}  # fmt: skip
SCRIPT = """
import json, sys
import nnlab
exp = nnlab.run(json.loads(sys.argv[2]), out=sys.argv[1], quiet=True)
print(json.dumps(exp.statuses))
"""


def start(out: Path, backend: str) -> subprocess.Popen:
    config = {**CONFIG, "backend": backend}
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(out), json.dumps(config)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def finish(proc: subprocess.Popen) -> dict:
    out, errors = proc.communicate(timeout=600)
    assert proc.returncode == 0, errors[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def rows(run_dir: Path) -> int:
    try:
        return max(0, len((run_dir / store.HISTORY_FILE).read_text().splitlines()) - 2)
    except OSError:
        return 0


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_killed_run_resumes_from_its_checkpoint_and_ends_as_if_never_stopped(
    tmp_path: Path, backend: str
) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    plain = start(whole, backend)
    proc = start(killed, backend)
    deadline = time.monotonic() + 300
    run_dir = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = [p for p in (killed / "ckpt").glob("*") if (p / store.HISTORY_FILE).exists()]
        if found and rows(found[0]) >= EPOCHS // 2:
            run_dir = found[0]
            break
        time.sleep(0.02)
    assert run_dir is not None, "the run never reached half-way"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = rows(run_dir)
    assert EPOCHS // 2 <= at_kill < EPOCHS
    assert (run_dir / store.CHECKPOINT_FILE).is_file()
    assert finish(plain) == {run_dir.name: "completed"}

    assert finish(start(killed, backend)) == {run_dir.name: "completed"}
    result = store.read_json(run_dir / store.RESULT_FILE)
    resumed = result["resumed_from_epoch"]
    assert resumed % EVERY == 0 and at_kill - EVERY <= resumed <= at_kill
    assert not (run_dir / store.CHECKPOINT_FILE).exists()  # gone once the run ended

    history = pd.read_csv(run_dir / store.HISTORY_FILE)
    reference = pd.read_csv(whole / "ckpt" / run_dir.name / store.HISTORY_FILE)
    assert history["epoch"].tolist() == list(range(EPOCHS + 1))  # each epoch exactly once
    for column in ("loss", "val_loss", "learning_rate"):
        np.testing.assert_allclose(history[column], reference[column], rtol=1e-5, atol=1e-6)
    assert reference["learning_rate"].nunique() > 1  # the plateau schedule acted
    done = store.read_json(whole / "ckpt" / run_dir.name / store.RESULT_FILE)
    assert result["best_epoch"] == done["best_epoch"]  # early stopping's state came back
    assert result["model"] == {**done["model"], "bytes": result["model"]["bytes"]}

    final = nnlab.load_model(run_dir).get_weights()
    expected = nnlab.load_model(whole / "ckpt" / run_dir.name).get_weights()
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(final, expected, strict=True))
    assert gap <= 1e-6, gap
