"""The Python API: ``nnlab.run``, ``nnlab.sweep``, ``nnlab.load_model``, ``Experiment.plot``,
saved models and the user's own callbacks, all through the API (no CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nnlab
from nnlab import store

from helpers import STOP_AT, TINY, merge

TF = {"backend": "tensorflow"}


def test_importing_nnlab_imports_no_backend() -> None:
    code = "import nnlab, sys; print('tensorflow' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_sweep_from_a_dict_returns_the_experiment_and_resumes(tmp_path: Path) -> None:
    config = merge(TINY, {"name": "api", **TF})
    exp = nnlab.sweep(config, {"train.batch_size": [16, "full"]}, out=tmp_path, quiet=True,
                      repeats=2)  # fmt: skip
    assert isinstance(exp, nnlab.Experiment) and exp.path == tmp_path / "api"
    assert len(exp.runs) == 4 and set(exp.statuses.values()) == {"completed"}
    assert sorted(exp.summary["train.batch_size"].unique()) == ["16", "full"]
    assert set(exp.history()["epoch"]) == {0, 1, 2, 3}
    assert len(exp.groups()) == 2 and exp.verdict().sentence
    stamps = {r: (exp.path / r / store.RESULT_FILE).stat().st_mtime_ns for r in exp.runs}
    again = nnlab.sweep(config, {"train.batch_size": [16, "full"]}, out=tmp_path, quiet=True,
                        repeats=2)  # fmt: skip
    assert {r: (again.path / r / store.RESULT_FILE).stat().st_mtime_ns for r in exp.runs} == stamps
    plan = nnlab.sweep(config, {"train.batch_size": [16, "full", 64]}, out=tmp_path,
                       repeats=2, dry_run=True)  # fmt: skip
    assert list(plan["will_train"]) == [False, False, False, False, True, True]
    forced = nnlab.run(config, out=tmp_path, quiet=True, force=True, set={"train.epochs": 2})
    assert forced.summary["epochs_run"].astype(int).tolist() == [2]


def test_a_yaml_path_and_set_overrides(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(merge(TINY, {"name": "yaml", **TF})))
    exp = nnlab.run(path, out=tmp_path / "out", set=["train.epochs=2"], quiet=True)
    assert exp.summary["epochs_run"].astype(int).tolist() == [2]
    from nnlab.config import validate

    config_object = validate(merge(TINY, {"name": "yaml", **TF, "train": {"epochs": 2}}))
    plan = nnlab.run(config_object, out=tmp_path / "out", dry_run=True)
    assert plan["run_id"].tolist() == exp.runs and plan["status"].tolist() == ["completed"]


def test_config_errors_are_exceptions_naming_each_key(tmp_path: Path) -> None:
    bad = merge(TINY, {"train": {"learning_rate": -1, "optimizer": "adamm"}})
    with pytest.raises(nnlab.ConfigError) as info:
        nnlab.run(bad, out=tmp_path, quiet=True)
    lines = info.value.problems
    assert any(p.startswith("train.learning_rate:") for p in lines)
    assert any(p.startswith("train.optimizer:") and "adam" in p for p in lines)
    with pytest.raises(nnlab.ConfigError, match=r"train\.batch_sise"):
        nnlab.sweep(TINY, {"train.batch_sise": [1, 2]}, out=tmp_path, quiet=True)
    with pytest.raises(nnlab.ConfigError, match="no such file"):
        nnlab.run(tmp_path / "missing.yaml", out=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written


def test_failed_and_diverged_runs_do_not_raise(tmp_path: Path) -> None:
    from helpers import linear_csv

    csv = linear_csv(tmp_path)
    config = {"name": "div", "backend": "tensorflow",
              "data": {"name": "csv", "path": str(csv), "target": "y"},
              "model": {"hidden": [4]},
              "train": {"epochs": 20, "optimizer": "sgd", "learning_rate": 5.0}}  # fmt: skip
    exp = nnlab.run(config, out=tmp_path / "out", quiet=True)
    assert list(exp.statuses.values()) == ["diverged"]
    (tmp_path / "b.py").write_text("def build(input_shape):\n    raise RuntimeError('no')\n")
    broken = merge(TINY, {"name": "broken", **TF,
                          "model": {"kind": "custom", "builder": str(tmp_path / "b.py:build"),
                                    "hidden": None}})  # fmt: skip
    failed = nnlab.run(broken, out=tmp_path / "out", quiet=True)
    assert list(failed.statuses.values()) == ["failed"]
    record = store.read_json(failed.path / failed.runs[0] / store.RESULT_FILE)
    assert "RuntimeError: no" in record["error"]


def test_plot_returns_figures(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    exp = nnlab.sweep(merge(TINY, {"name": "p", **TF}), {"train.learning_rate": [0.01, 0.1]},
                      out=tmp_path, quiet=True)  # fmt: skip
    fig = exp.plot("curves_loss")
    assert isinstance(fig, Figure) and fig.axes and fig.axes[0].lines
    curves = exp.plot("curves")
    assert len(curves) >= 2 and all(isinstance(f, Figure) for f in curves)
    run = nnlab.load(exp.path / exp.runs[0])
    assert isinstance(run.plot("decision_boundary"), Figure)
    with pytest.raises(nnlab.NnlabError, match="valid: all, curves_"):
        exp.plot("nope")


def in_jax(code: str, *args: object) -> dict:
    """Run ``code`` in a process of its own on JAX (one Keras backend per process); it prints
    one JSON object, returned."""
    import json
    import os

    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, env=env, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_callback_objects_join_every_run(tmp_path: Path) -> None:
    import keras

    class Count(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    counter = Count()
    exp = nnlab.sweep(merge(TINY, {"name": "cb", **TF}), {"train.learning_rate": [0.01, 0.02]},
                      out=tmp_path, quiet=True, callbacks=[counter])  # fmt: skip
    assert counter.epochs == 2 * 3 and len(exp.runs) == 2  # the same object, in both runs
    with pytest.raises(nnlab.ConfigError, match="callbacks:"):
        nnlab.run(TINY, out=tmp_path, workers=2, callbacks=[counter])


JAX_CALLBACKS = """
import json, sys, keras, nnlab
from nnlab import store
class Count(keras.callbacks.Callback):
    epochs = 0
    def on_epoch_end(self, epoch, logs=None):
        Count.epochs += 1
config = {"name": "cb", "backend": "jax", "data": {"name": "circles", "n_samples": 200},
          "model": {"hidden": [8]}, "train": {"epochs": 3}}
exp = nnlab.sweep(config, {"train.learning_rate": [0.01, 0.02]}, out=sys.argv[1], quiet=True,
                  callbacks=[Count()])
fused = [("fused" in store.read_json(exp.path / r / "result.json")) for r in exp.runs]
try:
    nnlab.run(config, out=sys.argv[1], fused=True, callbacks=[Count()], force=True)
    said = None
except nnlab.ConfigError as e:
    said = str(e)
print(json.dumps({"epochs": Count.epochs, "fused": fused, "said": said}))
"""


def test_callback_objects_on_jax_train_on_fit_not_fused(tmp_path: Path) -> None:
    out = in_jax(JAX_CALLBACKS, tmp_path)
    assert out["epochs"] == 2 * 3 and out["fused"] == [False, False]
    assert "callbacks" in out["said"] and "fused" in out["said"]


def test_train_callbacks_from_a_file_change_training_and_the_run_id(tmp_path: Path) -> None:
    (tmp_path / "cbs.py").write_text(STOP_AT)
    import yaml

    config = merge(TINY, {"name": "filecb", **TF, "train": {"epochs": 8, "callbacks": [
        {"path": "cbs.py:StopAt", "args": {"epoch": 2}}]}})  # fmt: skip
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config))
    exp = nnlab.run(path, out=tmp_path / "out", quiet=True)
    assert exp.summary["epochs_run"].astype(int).tolist() == [2]  # stopped by the callback
    plain = nnlab.run(merge(config, {"train": {"callbacks": None}}), out=tmp_path / "out2",
                      quiet=True)  # fmt: skip
    assert plain.summary["epochs_run"].astype(int).tolist() == [8]
    assert exp.runs[0].rsplit("_", 1)[-1] != plain.runs[0].rsplit("_", 1)[-1]
    (tmp_path / "cbs.py").write_text(STOP_AT + "\n# edited\n")
    edited = nnlab.run(path, out=tmp_path / "out", quiet=True, dry_run=True)
    assert edited["run_id"].iloc[0] != exp.runs[0]  # an edited file: a new run


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("nowhere.py:StopAt", "train.callbacks.0: file not found"),
        ("cbs.py:Nope", "train.callbacks.0: "),
        ("no_such_module_xyz:Cls", "train.callbacks.0: cannot import module"),
        ({"path": "cbs.py:StopAt", "args": {"bogus": 1}}, "train.callbacks.0: "),
        ("collections:OrderedDict", "not a keras.callbacks.Callback"),
        ("nocolon", "train.callbacks.0"),
    ],
)
def test_bad_callback_references_are_config_errors(tmp_path: Path, entry, says) -> None:
    (tmp_path / "cbs.py").write_text(STOP_AT)
    import yaml

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(merge(TINY, {**TF, "train": {"callbacks": [entry]}})))
    with pytest.raises(nnlab.ConfigError, match=says.replace(".", r"\.")):
        nnlab.run(path, out=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


ES = {"monitor": "val_loss", "patience": 2, "restore_best_weights": True}
SAVE = merge(TINY, {"name": "save", "train": {"epochs": 40, "learning_rate": 0.3,
                                              "early_stopping": ES}})  # fmt: skip


def test_save_model_best_and_final_on_fit(tmp_path: Path) -> None:
    from helpers import boundary_gap

    for mode in ("best", "final"):
        exp = nnlab.run(merge(SAVE, TF), out=tmp_path / mode, quiet=True,
                        set={"train.save_model": mode})  # fmt: skip
        run_dir = exp.path / exp.runs[0]
        result = store.read_json(run_dir / store.RESULT_FILE)
        saved, last = result["model"], int(exp.history()["epoch"].max())
        assert last < 40  # early stopping restored an earlier epoch's weights
        assert saved["bytes"] == (run_dir / "model.keras").stat().st_size > 1000
        if mode == "final":
            assert saved == {**saved, "weights": "final", "epoch": last}
            assert boundary_gap(run_dir) > 1e-2  # the boundary was drawn with the best weights
        else:
            assert saved == {**saved, "weights": "best", "epoch": result["weights_epoch"]}
            assert saved["epoch"] < last
            assert boundary_gap(run_dir) < 2e-3
    assert "model.keras" in (exp.path / "report.md").read_text()
    with pytest.raises(nnlab.ConfigError, match="save_model"):
        nnlab.load_model(tmp_path)


JAX_SAVE = """
import json, sys
sys.path.insert(0, sys.argv[2])
import nnlab
from helpers import boundary_gap
from nnlab import store
config = json.loads(sys.argv[3])
out = {}
for fused in (False, True):
    exp = nnlab.sweep(config, {"train.learning_rate": [0.3, 0.2]}, out=sys.argv[1] + str(fused),
                      quiet=True, fused=fused, set={"train.save_model": "best"})
    for r in exp.runs:
        result = store.read_json(exp.path / r / "result.json")
        steps = int(nnlab.load_model(exp.path / r).optimizer.iterations.numpy())
        out[f"{fused}-{r}"] = [("fused" in result), result["model"]["weights"],
                               boundary_gap(exp.path / r), steps, result["steps_per_epoch"]
                               * result["epochs_run"]]
print(json.dumps(out))
"""


def test_save_model_on_jax_fit_and_of_fused_members(tmp_path: Path) -> None:
    import json

    config = merge(SAVE, {"backend": "jax"})
    out = in_jax(JAX_SAVE, tmp_path / "out", Path(__file__).parent, json.dumps(config))
    assert len(out) == 4
    for key, (fused, weights, gap, steps, taken) in out.items():
        assert fused == key.startswith("True")
        assert weights == "best" and gap < 2e-3, key
        assert steps == taken  # the optimizer's state came along (its step count here)


CTRL_C = """
import json, os, signal, sys, threading, time
from pathlib import Path
import nnlab
out = Path(sys.argv[1])
config = {"name": "stop", "backend": "tensorflow", "repeats": 2,
          "data": {"name": "circles", "n_samples": 400}, "model": {"hidden": [16]},
          "train": {"epochs": 300, "batch_size": 4}}

def press_ctrl_c():
    while not any(len(p.read_text().splitlines()) > 4 for p in out.glob("stop/*/history.csv")):
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=press_ctrl_c, daemon=True).start()
try:
    nnlab.run(config, out=out, quiet=True)
    said = None
except KeyboardInterrupt as e:
    said = str(e)
exp = nnlab.load(out / "stop")
print(json.dumps({"said": said, "statuses": exp.statuses}))
"""


def test_ctrl_c_finishes_the_bookkeeping_then_raises_keyboard_interrupt(tmp_path: Path) -> None:
    import json

    out = subprocess.run([sys.executable, "-c", CTRL_C, str(tmp_path)], capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    said = json.loads(out.stdout.strip().splitlines()[-1])
    assert said["said"] and "run the same call again" in said["said"]
    assert list(said["statuses"].values()) == ["interrupted"]  # in summary.csv, recorded
    assert len(list((tmp_path / "stop").glob("*/result.json"))) == 1  # the second never began


def test_runs_with_user_callbacks_are_not_fused_and_the_plan_says_so() -> None:
    from nnlab.config import validate
    from nnlab.expansion import expand
    from nnlab.fused import groups

    doc = merge(TINY, {"backend": "jax", "repeats": 3,
                       "train": {"callbacks": ["keras.callbacks:TerminateOnNaN"]}})  # fmt: skip
    plan = groups.plan(expand(validate(doc)), "auto")
    assert plan.groups == 0 and len(plan.units) == 3
    assert plan.notes == ["not fused (3 runs): the user's own callbacks (train.callbacks) run "
                          "on Keras fit, one run at a time"]  # fmt: skip
    plain = groups.plan(expand(validate(merge(TINY, {"backend": "jax", "repeats": 3}))), "auto")
    assert plain.groups == 1
