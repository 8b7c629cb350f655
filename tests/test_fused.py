"""Fused sweeps: grouping (pure, in this process) and the fused trainer against separate Keras
``fit`` runs on JAX (each command in its own process: this one trains on TensorFlow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from nnlab.config import validate
from nnlab.errors import ConfigError
from nnlab.expansion import expand
from nnlab.fused import groups

from helpers import linear_csv

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NNLAB_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
PIMA_FILE = SHARED / "pima-indians-diabetes.csv"

PIMA = {"name": "pima", "path": str(PIMA_FILE)}


def specs_of(doc: dict[str, Any]) -> list[Any]:
    return expand(validate({"name": "g", "data": PIMA, **doc}))


# -- grouping (pure) ---------------------------------------------------------------------------


def test_seeds_rates_initializers_and_callback_numbers_share_a_group():
    specs = specs_of({
        "backend": "jax", "repeats": 3,
        "sweep": {"train.learning_rate": [0.1, 0.01],
                  "model.initializer": ["he_uniform", "glorot_uniform"],
                  "train.early_stopping": [{"patience": 2}, {"patience": 5}]},
    })  # fmt: skip
    plan = groups.plan(specs, "auto")
    assert [(len(u), on) for u, on in plan.units] == [(24, True)]
    assert plan.notes == []


def test_architecture_batch_size_and_optimizer_split_groups_in_order():
    sweep = {"train.batch_size": [10, 32], "model.dropout": [0.0, 0.2]}
    specs = specs_of({"backend": "jax", "repeats": 2, "sweep": sweep})
    plan = groups.plan(specs, "auto")
    assert [len(u) for u, _ in plan.units] == [2, 2, 2, 2]
    assert all(on for _, on in plan.units)
    for unit, _ in plan.units:
        assert len({(s.config.train.batch_size, s.config.model.dropout) for s in unit}) == 1


def test_dropout_noise_and_penalty_values_share_a_group_but_their_layers_must_match():
    sweep = {"model.dropout": [0.1, 0.3], "model.noise": [0.05, 0.2],
             "model.l1": [0.0, 0.001], "model.l2": [0.01]}  # fmt: skip
    plan = groups.plan(specs_of({"backend": "jax", "sweep": sweep}), "auto")
    assert [(len(u), on) for u, on in plan.units] == [(8, True)]
    # no penalty at all is another program (no regularizer), as is no noise layer
    sweep = {"model.l2": [0.0, 0.01, 0.1], "model.noise": [0.0, 0.1]}
    plan = groups.plan(specs_of({"backend": "jax", "sweep": sweep}), "auto")
    assert sorted(len(u) for u, on in plan.units if on) == [2, 2]
    assert sum(1 for _, on in plan.units if not on) == 2
    # optimizer arguments are traced as Python numbers: each value is its own program
    sweep = {"train.optimizer": [{"name": "sgd", "momentum": m} for m in (0.0, 0.9)]}
    plan = groups.plan(specs_of({"backend": "jax", "repeats": 2, "sweep": sweep}), "auto")
    assert [len(u) for u, _ in plan.units] == [2, 2]


def test_single_runs_and_other_backends_train_alone_with_one_line_why():
    alone = groups.plan(specs_of({"backend": "jax"}), "auto")
    assert alone.units[0][1] is False and alone.notes == []
    tf = groups.plan(specs_of({"backend": "tensorflow", "repeats": 3}), "auto")
    assert [on for _, on in tf.units] == [False] * 3
    assert tf.notes == ["not fused (3 runs): backend is tensorflow; fused groups run on JAX "
                        "(backend: jax or auto)"]  # fmt: skip


def test_fused_true_that_cannot_be_honoured_is_a_config_error():
    with pytest.raises(ConfigError, match="fused: true cannot be honoured: backend is torch"):
        groups.plan(specs_of({"backend": "torch", "repeats": 2}), True)
    assert groups.plan(specs_of({"backend": "jax"}), True).units[0][1] is True
    assert all(not on for _, on in groups.plan(specs_of({"backend": "jax", "repeats": 2}),
                                               False).units)  # fmt: skip


def test_groups_are_chunked():
    specs = specs_of({"backend": "jax", "repeats": 600})
    sizes = [len(u) for u, _ in groups.plan(specs, "auto").units]
    assert sizes == [250, 250, 100]


def test_fused_stays_out_of_the_run_id():
    a = specs_of({"backend": "jax", "fused": True})[0].run_id
    assert a == specs_of({"backend": "jax", "fused": False})[0].run_id


def test_auto_backend_is_keras_backend_or_jax(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert validate({"name": "a", "data": PIMA}).backend == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert validate({"name": "a", "data": PIMA}).backend == "tensorflow"


# -- the fused trainer, against separate runs ---------------------------------------------------

needs_pima = pytest.mark.skipif(not PIMA_FILE.is_file(), reason="real Pima CSV not found")
slow = pytest.mark.slow


def nnlab(
    *args: str, check: bool = True, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in (env or os.environ).items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-m", "nnlab", *args], capture_output=True, text=True,
                         env=env, timeout=900, **kw)  # fmt: skip
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


PARITY = {
    "name": "parity",
    "repeats": 2,
    "data": PIMA,
    "model": {"hidden": [12, 8]},
    "train": {"epochs": 8, "batch_size": 32},
    "sweep": {
        "params": {"train.learning_rate": [0.05, 0.01]},
        "variants": {
            "sgd-bn-dropout-noise-l2": {
                "model.batch_norm": True, "model.dropout": 0.1, "model.noise": 0.1,
                "model.l2": 0.001, "train.optimizer": {"name": "sgd", "momentum": 0.9},
                "train.early_stopping": {"patience": 2},
                "train.lr_schedule": {"kind": "plateau", "patience": 1, "factor": 0.5},
            },
            "adam-cosine": {"train.optimizer": "adam",
                            "train.lr_schedule": {"kind": "cosine"}},
            "rmsprop-step-capture": {
                "train.optimizer": "rmsprop", "train.lr_schedule": {"kind": "step", "every": 3},
                "train.capture": ["weights", "gradients", "batches"],
            },
        },
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not PIMA_FILE.is_file():
        pytest.skip("real Pima CSV not found")
    root = tmp_path_factory.mktemp("parity")
    config = write(root / "parity.yaml", PARITY)
    # split over the host's devices even at 4 members (by default a device takes 32 or more)
    split = {**os.environ, "NNLAB_FUSED_MEMBERS_PER_DEVICE": "1"}
    fused = nnlab("run", str(config), "-o", str(root / "fused"), "--fused", env=split)
    separate = nnlab("run", str(config), "-o", str(root / "separate"), "--no-fused")
    # the first learning rate alone: groups of 2 instead of 4, its members in another chunk
    half = {**PARITY, "sweep": {**PARITY["sweep"], "params": {"train.learning_rate": [0.05]}}}
    nnlab("run", str(write(root / "half.yaml", half)), "-o", str(root / "half"), "--fused")
    return {
        "fused": root / "fused" / "parity",
        "separate": root / "separate" / "parity",
        "half": root / "half" / "parity",
        "log": fused.stderr + separate.stderr,
    }  # type: ignore[dict-item]


def history(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "history.csv").drop(columns="epoch_seconds")


def close(a: pd.DataFrame, b: pd.DataFrame, rtol: float = 1e-5) -> None:
    assert list(a.columns) == list(b.columns)
    assert a.shape == b.shape
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=rtol, atol=1e-6)


@slow
@needs_pima
def test_fused_histories_equal_separate_keras_fit_on_jax(parity):
    runs = sorted(p.name for p in parity["fused"].iterdir() if (p / "history.csv").is_file())
    assert len(runs) == 12
    for run in runs:
        fused, separate = parity["fused"] / run, parity["separate"] / run
        close(history(fused), history(separate))
        a, b = (json.loads((d / "result.json").read_text()) for d in (fused, separate))
        assert a["status"] == b["status"] == "completed"
        for key in ("epochs_run", "stopped_epoch", "best_epoch", "weights_epoch"):
            assert a[key] == b[key], (run, key)
        assert a["fused"]["members"] == 4 and "fused" not in b
        env = json.loads((fused / "env.json").read_text())["fused"]
        # the members are split over one CPU device per core (as many as divide the group)
        assert env["members"] == 4
        assert env["devices"] == max(d for d in range(1, (os.cpu_count() or 1) + 1) if 4 % d == 0)
    # the groups of 2 below ("half") are not split: equal histories prove splitting changes none
    for env_file in parity["half"].glob("*/env.json"):
        assert json.loads(env_file.read_text())["fused"]["devices"] == 1


@slow
@needs_pima
def test_early_stopping_and_schedules_act_per_member(parity):
    stopped = [json.loads(p.read_text())["stopped_epoch"]
               for p in parity["fused"].glob("*sgd-bn*/result.json")]  # fmt: skip
    assert any(s is not None and s < 8 for s in stopped)  # some stopped early, alone
    cosine = pd.read_csv(next(parity["fused"].glob("*adam-cosine*/history.csv")))
    assert cosine.learning_rate.iloc[1] > cosine.learning_rate.iloc[-1]  # the schedule ran


@slow
@needs_pima
def test_captures_of_fused_members_equal_separate_ones(parity):
    for name in ("weights.csv", "gradients.csv", "batches.csv"):
        for fused in parity["fused"].glob(f"*capture*/{name}"):
            a = pd.read_csv(fused)
            b = pd.read_csv(parity["separate"] / fused.parent.name / name)
            assert a.shape == b.shape and len(a) > 0
            numeric = a.select_dtypes("number").columns
            np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float),
                                       rtol=1e-4, atol=1e-6)  # fmt: skip


@slow
@needs_pima
def test_a_member_s_history_does_not_depend_on_its_group(parity):
    half = sorted(p.name for p in parity["half"].iterdir() if (p / "history.csv").is_file())
    assert len(half) == 6
    for run in half:
        close(history(parity["half"] / run), history(parity["fused"] / run))


@slow
@needs_pima
def test_members_with_their_own_dropout_noise_and_penalties_equal_separate_runs(tmp_path):
    # one group of 8 members whose rates, stddevs and l1 differ: each must train with its own
    # (the template's first member's numbers would give every other member another history)
    doc = {
        "name": "numbers", "data": PIMA, "model": {"hidden": [12, 8]},
        "train": {"epochs": 4, "batch_size": 32, "learning_rate": 0.05,
                  "optimizer": {"name": "sgd", "momentum": 0.9}},
        "sweep": {"model.dropout": [0.1, 0.3], "model.noise": [0.05, 0.2],
                  "model.l1": [0.0, 0.001], "model.l2": [0.01]},
    }  # fmt: skip
    config = write(tmp_path / "numbers.yaml", doc)
    nnlab("run", str(config), "-o", str(tmp_path / "f"), "--fused", "--quiet")
    nnlab("run", str(config), "-o", str(tmp_path / "s"), "--no-fused", "--quiet")
    runs = sorted(p.parent for p in (tmp_path / "f" / "numbers").glob("*/history.csv"))
    assert len(runs) == 8
    finals = set()
    for run in runs:
        assert json.loads((run / "result.json").read_text())["fused"]["members"] == 8
        close(history(run), history(tmp_path / "s" / "numbers" / run.name))
        finals.add(round(float(history(run).loss.iloc[-1]), 5))
    assert len(finals) == 8  # every member trained differently


@slow
@needs_pima
def test_a_diverging_member_is_recorded_and_the_others_go_on(tmp_path):
    csv = linear_csv(tmp_path)
    config = write(tmp_path / "div.yaml", {
        "name": "div", "data": {"name": "csv", "path": str(csv), "target": "y"}, "repeats": 2,
        "train": {"epochs": 30, "optimizer": "sgd"},
        "sweep": {"train.learning_rate": [5.0, 0.001]},
    })  # fmt: skip
    nnlab("run", str(config), "-o", str(tmp_path), "--fused")
    results = {p.parent.name: json.loads(p.read_text())
               for p in (tmp_path / "div").glob("*/result.json")}  # fmt: skip
    diverged = [r for r in results.values() if r["status"] == "diverged"]
    assert len(diverged) == 2
    assert {r["status"] for n, r in results.items() if "0.001" in n} == {"completed"}
    for r in diverged:
        rows = pd.read_csv(tmp_path / "div" / r["run_id"] / "history.csv")
        assert len(rows) == r["diverged_epoch"] + 1 < 31  # it stopped there
    kept = pd.read_csv(next((tmp_path / "div").glob("*0.001*/history.csv")))
    assert len(kept) == 31


@slow
@needs_pima
def test_resume_trains_only_the_members_not_completed(tmp_path):
    doc = {"name": "res", "data": PIMA, "repeats": 2, "train": {"epochs": 3, "batch_size": 32},
           "sweep": {"train.learning_rate": [0.1, 0.01]}}  # fmt: skip
    config = write(tmp_path / "res.yaml", doc)
    first = write(tmp_path / "first.yaml", {**doc, "sweep": {"train.learning_rate": [0.1]}})
    nnlab("run", str(first), "-o", str(tmp_path))
    out = nnlab("run", str(config), "-o", str(tmp_path))
    assert "2 of 4 runs already finished" in out.stderr
    sizes = {json.loads(p.read_text())["fused"]["members"]
             for p in (tmp_path / "res").glob("*0.01*/result.json")}  # fmt: skip
    assert sizes == {2}


@slow
@needs_pima
def test_ctrl_c_marks_the_group_interrupted_and_the_same_command_finishes(tmp_path):
    doc = {"name": "int", "data": PIMA, "repeats": 3, "train": {"epochs": 3000, "batch_size": 8}}
    config = write(tmp_path / "int.yaml", doc)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    command = [sys.executable, "-m", "nnlab", "run", str(config), "-o", str(tmp_path)]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    histories = tmp_path / "int"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        files = list(histories.glob("*/history.csv"))
        if len(files) == 3 and all(len(f.read_text().splitlines()) > 3 for f in files):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    results = [json.loads(p.read_text()) for p in histories.glob("*/result.json")]
    assert [r["status"] for r in results] == ["interrupted"] * 3
    assert all(2 < r["epochs_run"] < 3000 for r in results)


@slow
@needs_pima
def test_a_jax_run_imports_no_tensorflow(tmp_path):
    config = write(tmp_path / "j.yaml", {"name": "j", "data": PIMA, "repeats": 2,
                                         "train": {"epochs": 1}})  # fmt: skip
    code = (
        "import sys, runpy; sys.argv = ['nnlab', 'run', sys.argv[1], '-o', sys.argv[2], "
        "'-q'];\ntry:\n    runpy.run_module('nnlab', run_name='__main__')\n"
        "except SystemExit:\n    pass\nprint('TF' if 'tensorflow' in sys.modules else 'none')"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code, str(config), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "none", out.stderr[-2000:]
    assert out.stderr == ""  # --quiet: not a line, TensorFlow's C++ ones included


@slow
@needs_pima
def test_dry_run_shows_the_groups_and_an_impossible_fused_exits_2(tmp_path):
    config = write(tmp_path / "d.yaml", {"name": "d", "data": PIMA, "repeats": 3})
    out = nnlab("run", str(config), "--dry-run")
    assert "fused: 1 group(s) of 3 runs" in out.stdout
    bad = nnlab("run", str(config), "--fused", "--backend", "tensorflow", check=False)
    assert bad.returncode == 2
    assert "fused: true cannot be honoured: backend is tensorflow" in bad.stderr


@slow
def test_a_small_lenet5_fused_equals_separate(tmp_path, shared_cache):
    config = write(tmp_path / "lenet.yaml", {
        "name": "lenet", "repeats": 2, "data": {"name": "mnist", "subset": 300},
        "model": {"kind": "lenet5"}, "train": {"epochs": 2, "batch_size": 64},
    })  # fmt: skip
    nnlab("run", str(config), "-o", str(tmp_path / "f"), "--fused", "-q")
    nnlab("run", str(config), "-o", str(tmp_path / "s"), "--no-fused", "-q")
    runs = [p.parent.name for p in (tmp_path / "f" / "lenet").glob("*/history.csv")]
    assert len(runs) == 2
    for run in runs:
        close(history(tmp_path / "f" / "lenet" / run), history(tmp_path / "s" / "lenet" / run))


HOST_CLIP_BUILDER = '''
import jax
import keras
import numpy as np


class HostClip(keras.layers.Layer):
    """Clips on the host, through a NumPy callback that JAX cannot map over members."""

    def call(self, x):
        held = jax.lax.stop_gradient(x)
        clipped = jax.pure_callback(lambda a: np.clip(a, -3, 3).astype(a.dtype),
                                    jax.ShapeDtypeStruct(x.shape, x.dtype), held)
        return x + jax.lax.stop_gradient(clipped - held)


def build(input_shape, num_outputs, output_activation):
    x_in = keras.Input(shape=input_shape)
    x = HostClip()(keras.layers.Dense(8, activation="relu")(x_in))
    return keras.Model(x_in, keras.layers.Dense(num_outputs, activation=output_activation)(x))
'''


@slow
@needs_pima
def test_a_custom_layer_the_fused_program_cannot_map_trains_one_by_one_and_says_why(tmp_path):
    (tmp_path / "builder.py").write_text(HOST_CLIP_BUILDER)
    doc = {"name": "custom", "data": PIMA, "repeats": 2, "train": {"epochs": 2},
           "model": {"kind": "custom", "builder": "builder.py:build"}}  # fmt: skip
    out = nnlab("run", str(write(tmp_path / "c.yaml", doc)), "-o", str(tmp_path / "runs"))
    assert "not fused (2 runs): the fused program could not be built: " in out.stderr
    assert "pure_callback" in out.stderr  # the cause, not only Keras' wrapper line
    results = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("custom/*/result.json")]
    assert [r["status"] for r in results] == ["completed", "completed"]
    assert all("fused" not in r and r["epochs_run"] == 2 for r in results)


@slow
@needs_pima
def test_workers_train_fused_groups_side_by_side(tmp_path):
    doc = {"name": "workers", "data": PIMA, "repeats": 2, "train": {"epochs": 10},
           "sweep": {"train.batch_size": [16, 32]}}  # fmt: skip
    nnlab("run", str(write(tmp_path / "w.yaml", doc)), "-o", str(tmp_path), "--workers", "2")
    runs = sorted(p.parent for p in tmp_path.glob("workers/*/result.json"))
    results = {r.name: json.loads((r / "result.json").read_text()) for r in runs}
    assert len(results) == 4
    assert all(r["status"] == "completed" and r["fused"]["members"] == 2
               for r in results.values())  # fmt: skip
    pids = {json.loads((r / "env.json").read_text())["pid"] for r in runs}
    assert len(pids) == 2  # each group in its own worker process
