"""The nnlab command as a user meets it: exit codes, messages, files, resume."""

from __future__ import annotations

import builtins
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from nnlab import store
from nnlab.cli import app

from helpers import TINY, merge

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def write_config(tmp_path: Path, doc: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def only_run(exp_dir: Path) -> Path:
    runs = store.run_dirs(exp_dir)
    assert len(runs) == 1, runs
    return runs[0]


def test_circles_acceptance_run(tmp_path):
    """configs/circles.yaml: 1000 samples, noise 0.1, MLP [16, 16] relu, adam, 50 epochs."""
    config = ROOT / "configs" / "circles.yaml"
    doc = yaml.safe_load(config.read_text())
    assert doc["data"] == {**doc["data"], "n_samples": 1000, "noise": 0.1}
    assert doc["model"]["hidden"] == [16, 16] and doc["train"]["epochs"] == 50
    result = invoke("run", config, "--out", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = only_run(tmp_path / "circles")
    history = pd.read_csv(run_dir / "history.csv")
    assert history["epoch"].tolist() == list(range(51))
    assert history["val_accuracy"].iloc[-1] >= 0.9
    res = store.read_json(run_dir / "result.json")
    assert res["status"] == "completed" and res["final"]["val_accuracy"] >= 0.9
    for png in ("learning_curves.png", "decision_boundary.png"):
        assert (run_dir / "plots" / png).stat().st_size > 10_000
    assert yaml.safe_load((tmp_path / "circles" / "experiment.yaml").read_text())["name"] == (
        "circles"
    )


def test_rerun_skips_completed_and_force_retrains(tmp_path):
    config = write_config(tmp_path, TINY)
    first = invoke("run", config, "--out", tmp_path / "runs")
    assert first.exit_code == 0, first.output
    run_dir = only_run(tmp_path / "runs" / "tiny")
    stamp = (run_dir / "result.json").stat().st_mtime_ns
    again = invoke("run", config, "--out", tmp_path / "runs")
    assert again.exit_code == 0
    assert "1 of 1 runs already finished; skipping them" in again.output
    assert "0 trained, 1 already finished, 0 failed" in again.output
    assert (run_dir / "result.json").stat().st_mtime_ns == stamp
    forced = invoke("run", config, "--out", tmp_path / "runs", "--force")
    assert forced.exit_code == 0
    assert "1 trained, 0 already finished" in forced.output
    assert (run_dir / "result.json").stat().st_mtime_ns != stamp


def test_non_interactive_output_has_a_line_per_run(tmp_path):
    config = write_config(tmp_path, TINY)
    result = invoke("run", config, "--out", tmp_path, "--repeats", "2")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(lines) == 2
    assert lines[0].startswith("[1/2] seed=0_") and " completed 3 epochs " in lines[0]
    assert lines[1].startswith("[2/2] seed=1_")


def test_set_overrides_and_changes_the_run_id(tmp_path):
    config = write_config(tmp_path, TINY)
    a = invoke("run", config, "--out", tmp_path, "-q")
    b = invoke("run", config, "--out", tmp_path, "-q", "--set", "train.epochs=2")
    assert a.exit_code == b.exit_code == 0
    runs = store.run_dirs(tmp_path / "tiny")
    assert len(runs) == 2
    epochs = sorted(store.read_json(r / "result.json")["epochs_run"] for r in runs)
    assert epochs == [2, 3]


@pytest.mark.parametrize(
    "changes,expected",
    [
        pytest.param(
            {"trian": {}}, "error: trian: unknown key (did you mean 'train'?)", id="unknown_key"
        ),
        pytest.param(
            {"train": {"epochs": "many"}},
            "error: train.epochs: must be an integer, got 'many'",
            id="wrong_type",
        ),
        pytest.param(
            {"train": {"learning_rate": -0.1}},
            "error: train.learning_rate: must be > 0, got -0.1",
            id="negative_lr",
        ),
        pytest.param(
            {"data": {"name": "iris"}},
            "error: data.name: unknown value 'iris'; valid: blobs, cifar10, circles, csv, "
            "digits, mnist, moons, pima",
            id="unknown_dataset",
        ),
        pytest.param(
            {"train": {"optimizer": "adamw2"}},
            "error: train.optimizer: unknown optimizer 'adamw2' (did you mean 'adamw'?); "
            "valid: adadelta, adafactor",
            id="unknown_optimizer",
        ),
        pytest.param(
            {"model": {"activation": "sigmoidal"}},
            "error: model.activation: unknown activation 'sigmoidal' (did you mean 'sigmoid'?)",
            id="unknown_activation",
        ),
        pytest.param(
            {"train": {"optimizer": {"name": "sgd", "momentun": 0.9}}},
            "error: train.optimizer.momentun: unknown sgd argument 'momentun' (did you mean "
            "'momentum'?); valid: clipnorm, clipvalue, ema_momentum, ema_overwrite_frequency, "
            "global_clipnorm, gradient_accumulation_steps, loss_scale_factor, momentum, "
            "nesterov, use_ema, weight_decay",
            id="optimizer_argument",
        ),
        pytest.param(
            {"model": {"initializer": {"name": "random_normal", "stdev": 1}}},
            "error: model.initializer.stdev: unknown random_normal argument 'stdev' (did you "
            "mean 'stddev'?); valid: mean, seed, stddev",
            id="initializer_argument",
        ),
        pytest.param({"seed": -1}, "error: seed: must be >= 0, got -1", id="negative_seed"),
        pytest.param(
            {"model": {"Hidden": [4]}},
            "error: model.Hidden: unknown key (did you mean 'hidden'?); valid: kind, hidden,",
            id="typo_with_capital",
        ),
        pytest.param(
            {"train": {"step": 2}},
            "error: train.step: unknown key; valid: epochs, batch_size,",
            id="key_named_like_a_schedule",
        ),
        pytest.param(
            {"model": {"kind": "custom", "builder": "m.py:build"}},
            "error: model.hidden: does not apply to model.kind custom (it uses builder)",
            id="key_the_kind_ignores",
        ),
    ],
)
def test_validate_rejects_broken_configs(tmp_path, changes, expected):
    config = write_config(tmp_path, merge(TINY, changes))
    result = invoke("validate", config)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.output


def test_validate_names_a_missing_builder_file(tmp_path):
    doc = merge(TINY, {"model": {"kind": "custom", "builder": "nowhere.py:build", "hidden": None}})
    result = invoke("validate", write_config(tmp_path, doc))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: model.builder: file not found: {tmp_path}/nowhere.py"


def test_missing_backend_exits_2_with_install_hint(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    result = invoke("run", write_config(tmp_path, TINY), "--out", tmp_path / "runs",
                    "--backend", "jax")  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: backend: jax is not installed in this environment (pip install jax)"
    )
    assert not (tmp_path / "runs").exists()


def test_validate_names_the_missing_function(tmp_path):
    (tmp_path / "b.py").write_text("def other():\n    pass\n")
    doc = merge(TINY, {"model": {"kind": "custom", "builder": "b.py:mk", "hidden": None}})
    config = write_config(tmp_path, doc)
    result = invoke("validate", config)
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: model.builder: {tmp_path / 'b.py'} has no function 'mk'; functions there: other"
    )


def test_validate_ok_prints_the_run_count(tmp_path):
    config = write_config(tmp_path, merge(TINY, {"repeats": 3}))
    result = invoke("validate", config)
    assert result.exit_code == 0, result.output
    assert "ok: experiment 'tiny', 3 runs (circles, mlp, 3 epochs)" in result.output


def test_bad_config_creates_nothing(tmp_path):
    config = write_config(tmp_path, merge(TINY, {"train": {"learning_rate": 0}}))
    result = invoke("run", config, "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert not (tmp_path / "runs").exists()


def test_broken_data_file_stops_before_any_run(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,x,1\n")
    doc = merge(TINY, {"data": {"name": "csv", "path": str(bad), "target": "y",
                                "n_samples": None, "noise": None}})  # fmt: skip
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: data.path: {bad}: line 3: column 'b' is not a number: 'x'; "
        "nnlab reads feature columns as numbers, convert or drop it"
    )
    assert not (tmp_path / "runs").exists()


def test_gpu_requested_without_gpu_is_a_clear_error(tmp_path):
    config = write_config(tmp_path, TINY)
    result = invoke("run", config, "--out", tmp_path / "runs", "--device", "gpu")
    assert result.exit_code == 2
    assert not (tmp_path / "runs").exists()
    assert result.output.strip() == (
        "error: device: gpu was requested but tensorflow sees no GPU on this machine; "
        "use device: auto (GPU when there is one) or device: cpu"
    )


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = invoke("run", write_config(tmp_path, TINY), "--out", blocker / "runs")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: --out: cannot write to {blocker / 'runs'}")


def test_failed_run_exits_1_and_is_recorded(tmp_path):
    (tmp_path / "b.py").write_text("def build():\n    raise RuntimeError('boom')\n")
    doc = merge(TINY, {"model": {"kind": "custom", "builder": "b.py:build", "hidden": None}})
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path / "runs")
    assert result.exit_code == 1
    res = store.read_json(only_run(tmp_path / "runs" / "tiny") / "result.json")
    assert res["status"] == "failed" and res["error"] == "RuntimeError: boom"
    assert "RuntimeError('boom')" in res["traceback"]


@pytest.mark.slow
def test_a_run_out_of_memory_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import tensorflow as tf

    from nnlab import train

    real = train.build_model

    def build_model(config, data):  # the larger learning rate's run does not fit the device
        if config.train.learning_rate == 0.1:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return real(config, data)

    monkeypatch.setattr(train, "build_model", build_model)
    doc = merge(TINY, {"sweep": {"train.learning_rate": [0.1, 0.01]}})
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path / "runs", "-q")
    assert result.exit_code == 1, result.output  # a run failed; the command itself worked
    exp = tmp_path / "runs" / "tiny"
    results = {
        d.name.split("_seed")[0]: store.read_json(d / "result.json") for d in store.run_dirs(exp)
    }
    assert results["learning_rate=0.01"]["status"] == "completed"
    failed = results["learning_rate=0.1"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("out of memory: ResourceExhaustedError: OOM when allocating")
    assert "out of memory" in (exp / "report.md").read_text()


def test_a_full_disk_is_a_clear_error_and_no_record_is_torn(tmp_path, monkeypatch):
    real = store.atomic_write_text

    def full(target, text):  # the disk fills up when the first run's result is written
        if Path(target).name == store.RESULT_FILE and '"running"' not in text:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, text)

    monkeypatch.setattr(store, "atomic_write_text", full)
    doc = merge(TINY, {"sweep": {"train.learning_rate": [0.1, 0.01]}})
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path / "runs", "-q")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.output.strip()
    assert (
        line.startswith("error: cannot write ") and "result.json: No space left on device" in line
    )
    assert "run the same command again" in line
    # the run's record is the whole "running" one written at its start: the next command
    # trains it again
    (run,) = [d for d in store.run_dirs(tmp_path / "runs" / "tiny")]
    assert store.read_json(run / store.RESULT_FILE)["status"] == "running"
    monkeypatch.setattr(store, "atomic_write_text", real)
    again = invoke("run", write_config(tmp_path, doc), "--out", tmp_path / "runs", "-q")
    assert again.exit_code == 0, again.output
    statuses = [store.read_json(d / store.RESULT_FILE)["status"]
                for d in store.run_dirs(tmp_path / "runs" / "tiny")]  # fmt: skip
    assert statuses == ["completed", "completed"]


class FillsUp:
    """A file on a disk that fills, as a real one behaves: after two flushes (the header
    and epoch 0, then epoch 1) every flush fails, and so does close(), which tries the
    buffered row again. ``full`` says whether the disk has filled."""

    full = False

    def __init__(self, f):
        self.f, self.flushes = f, 0

    def write(self, text):
        return self.f.write(text)

    def flush(self):
        self.flushes += 1
        if self.flushes >= 3:
            FillsUp.full = True
            raise OSError(errno.ENOSPC, "No space left on device")
        self.f.flush()

    def close(self):
        self.f.close()
        if self.flushes >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")


def fill_the_disk_in_history(monkeypatch):
    """history.csv is written to a disk that fills (see FillsUp)."""

    def open_(path, *args, **kwargs):
        f = builtins.open(path, *args, **kwargs)  # noqa: SIM115 - returned to the caller
        return FillsUp(f) if Path(path).name == store.HISTORY_FILE else f

    FillsUp.full = False
    monkeypatch.setattr(store, "open", open_, raising=False)


def test_a_disk_that_fills_mid_run_stops_the_command_and_does_not_fail_the_run(
    tmp_path, monkeypatch
):
    """A full disk while history.csv streams (a real one fails in flush(), naming no file):
    the one-line error names the file, the run is recorded as stopped, not failed, and the
    same command trains it again once there is space."""
    fill_the_disk_in_history(monkeypatch)
    doc = merge(TINY, {"sweep": {"train.learning_rate": [0.1, 0.01]}})
    config = write_config(tmp_path, doc)
    result = invoke("run", config, "--out", tmp_path / "runs", "-q")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: cannot write ") and "history.csv: No space left" in line
    (run,) = store.run_dirs(tmp_path / "runs" / "tiny")  # the command stopped at the first
    record = store.read_json(run / store.RESULT_FILE)
    assert record["status"] == "interrupted" and "No space left on device" in record["error"]
    monkeypatch.delattr(store, "open")
    again = invoke("run", config, "--out", tmp_path / "runs", "-q")
    assert again.exit_code == 0, again.output
    statuses = [store.read_json(d / store.RESULT_FILE)["status"]
                for d in store.run_dirs(tmp_path / "runs" / "tiny")]  # fmt: skip
    assert statuses == ["completed", "completed"]


def test_a_full_disk_is_named_by_the_first_file_it_failed(tmp_path, monkeypatch):
    """Once the disk is full, the summary rewritten as the command stops fails too; the error
    still names the file that failed first, where the space ran out."""
    from nnlab import summary

    real = summary.write_summary

    def write_summary(exp_dir, *args):
        if FillsUp.full:
            raise OSError(errno.ENOSPC, "No space left on device", str(exp_dir / "summary.csv"))
        return real(exp_dir, *args)

    fill_the_disk_in_history(monkeypatch)
    monkeypatch.setattr(summary, "write_summary", write_summary)
    result = invoke("run", write_config(tmp_path, TINY), "--out", tmp_path / "runs", "-q")
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: cannot write ") and "history.csv: No space left" in line


def test_pima_from_the_cache(shared_cache, tmp_path):
    doc = {"name": "pima", "data": {"name": "pima"}, "train": {"epochs": 5, "batch_size": 32}}
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    res = store.read_json(only_run(tmp_path / "pima") / "result.json")
    assert res["n_train"] + res["n_val"] == 768 and res["n_val"] == 192
    assert 0.55 < res["final"]["val_accuracy"] <= 1.0
    assert res["baseline_accuracy"] == pytest.approx(125 / 192, abs=0.01)


def test_mnist_sample_from_the_cache(shared_cache, tmp_path):
    doc = {
        "name": "mnist",
        "data": {"name": "mnist", "validation": "test", "scale": "unit", "subset": 2000},
        "model": {"hidden": [64]},
        "train": {"epochs": 2, "batch_size": 64},
    }
    result = invoke("run", write_config(tmp_path, doc), "--out", tmp_path, "-q")
    assert result.exit_code == 0, result.output
    run_dir = only_run(tmp_path / "mnist")
    history = pd.read_csv(run_dir / "history.csv")
    # the untrained model: loss near ln(10) = 2.3, accuracy near 10%
    assert 1.8 < history["loss"][0] < 3.0 and history["accuracy"][0] < 0.25
    assert history["val_accuracy"].iloc[-1] > 0.8
    res = store.read_json(run_dir / "result.json")
    assert res["n_train"] == 2000 and res["n_val"] == 1000 and "test" not in res


def test_datasets_lists_every_dataset(shared_cache):
    result = invoke("datasets")
    assert result.exit_code == 0
    for name in ("pima", "mnist", "cifar10", "circles", "moons", "blobs", "digits", "csv"):
        assert f" {name} " in f" {result.output} "
    pima = next(line for line in result.output.splitlines() if line.startswith(" pima "))
    mnist = next(line for line in result.output.splitlines() if line.startswith(" mnist "))
    cifar = next(line for line in result.output.splitlines() if line.startswith(" cifar10 "))
    assert "yes: pima-indians-diabetes.csv" in pima and "yes: mnist.npz" in mnist
    assert cifar.rstrip().endswith("no")
    assert f"cache folder: {shared_cache}" in result.output


def test_plot_redraws_from_csvs(tmp_path):
    config = write_config(tmp_path, TINY)
    assert invoke("run", config, "--out", tmp_path, "-q").exit_code == 0
    run_dir = only_run(tmp_path / "tiny")
    for png in (run_dir / "plots").iterdir():
        png.unlink()
    result = invoke("plot", run_dir)
    assert result.exit_code == 0
    assert (run_dir / "plots" / "learning_curves.png").stat().st_size > 10_000
    missing = invoke("plot", tmp_path / "nothing")
    assert missing.exit_code == 2
    assert "not a run or experiment directory" in missing.output


NO_BACKEND = """
import sys
from typer.testing import CliRunner
from nnlab.cli import app
r = CliRunner().invoke(app, sys.argv[1:])
loaded = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print("EXIT", r.exit_code, "LOADED", loaded)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "--help"], ["datasets"], ["plot", "RUN"], ["report", "--help"],
     ["report", "EXPERIMENT"], ["report", "RUN"]],
)  # fmt: skip
def test_commands_that_do_not_train_never_import_a_backend(tmp_path, args):
    if args[-1] in ("RUN", "EXPERIMENT"):
        config = write_config(tmp_path, TINY)
        assert invoke("run", config, "--out", tmp_path, "-q").exit_code == 0
        target = tmp_path / "tiny" if args[-1] == "EXPERIMENT" else only_run(tmp_path / "tiny")
        args = [args[0], str(target)]
    out = subprocess.run(
        [sys.executable, "-c", NO_BACKEND, *args], capture_output=True, text=True, timeout=120
    )
    assert "EXIT 0 LOADED []" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_ctrl_c_keeps_history_and_the_same_command_finishes(tmp_path):
    doc = merge(TINY, {"train": {"epochs": 100}})
    config = write_config(tmp_path, doc)
    cmd = [sys.executable, "-m", "nnlab", "run", str(config), "--out", str(tmp_path), "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    history = None
    deadline = time.time() + 120
    while time.time() < deadline:
        found = list((tmp_path / "tiny").glob("*/history.csv"))
        if found and len(found[0].read_text().splitlines()) >= 4:
            history = found[0]
            break
        time.sleep(0.2)
    assert history is not None, "training never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"run the same command again to finish the rest" in err
    res = json.loads((history.parent / "result.json").read_text())
    assert res["status"] == "interrupted"
    rows = pd.read_csv(history)
    assert res["epochs_run"] == int(rows["epoch"].iloc[-1]) >= 2
    # the same command trains the interrupted run again, to the end
    again = invoke("run", config, "--out", tmp_path, "-q")
    assert again.exit_code == 0
    assert store.read_json(history.parent / "result.json")["status"] == "completed"
    assert len(pd.read_csv(history)) == 101


# ---------------------------------------------------------------------------------------------
# sweeps of many runs: refused before they are expanded, checked once per distinct section

HUGE = {"train.learning_rate": [round(1e-5 * (i + 1), 8) for i in range(1000)],
        "train.batch_size": list(range(1, 1001))}  # fmt: skip
HUGE_MESSAGE = (
    "error: sweep: 1,000,000 runs (1000 x 1000 grid x 1 repeat) is more than --max-runs "
    "100,000; sweep fewer values, or pass --max-runs 1000000 to run them all"
)


@pytest.mark.parametrize(
    "command", [["validate"], ["run", "--dry-run"], ["sweep", "--dry-run"], ["run"]]
)
def test_a_huge_sweep_is_refused_at_once_with_its_count(tmp_path, monkeypatch, command):
    from nnlab import expansion as sweep

    def never(*args):  # the expansion of a million points took minutes: it never starts
        raise AssertionError("the sweep was expanded")

    monkeypatch.setattr(sweep, "points", never)
    if command[0] == "sweep":  # the axes come from the command line
        config = write_config(tmp_path, TINY)
        axes = [a for path, vs in HUGE.items() for a in ("-p", f"{path}={','.join(map(str, vs))}")]
    else:
        config = write_config(tmp_path, merge(TINY, {"sweep": HUGE}))
        axes = []
    out = [] if command[0] == "validate" else ["--out", tmp_path / "runs"]
    result = invoke(command[0], config, *command[1:], *axes, *out)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == HUGE_MESSAGE
    assert not (tmp_path / "runs").exists()


def test_max_runs_sets_the_limit(tmp_path):
    sweep = {"train.learning_rate": [0.1, 0.01, 0.001], "train.batch_size": [8, 16, 32, 64]}
    config = write_config(tmp_path, merge(TINY, {"sweep": sweep}))  # keys sorted: batch_size first
    refused = invoke("run", config, "--dry-run", "--max-runs", "11", "--out", tmp_path)
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "error: sweep: 12 runs (4 x 3 grid x 1 repeat) is more than --max-runs 11; sweep "
        "fewer values, or pass --max-runs 12 to run them all"
    )
    allowed = invoke("run", config, "--dry-run", "--max-runs", "12", "--out", tmp_path)
    assert allowed.exit_code == 0, allowed.output
    assert "12 runs (12 to train, 0 already finished)" in allowed.output
    swept = invoke("sweep", write_config(tmp_path, TINY, "plain.yaml"), "-p", "seed=1,2,3",
                   "--repeats", "2", "--dry-run", "--max-runs", "5", "--out", tmp_path)  # fmt: skip
    assert swept.exit_code == 2
    assert "sweep: 6 runs (3 values x 2 repeats) is more than --max-runs 5" in swept.output
    assert invoke("validate", config, "--max-runs", "11").exit_code == 2


def test_the_checks_before_training_run_once_per_distinct_section(tmp_path, monkeypatch):
    from nnlab import commands, data, keras_objects

    loads, optimizers = [], []
    real_load, real_optimizer = data.load_dataset, keras_objects.make_optimizer
    monkeypatch.setattr(data, "load_dataset", lambda *a: loads.append(a) or real_load(*a))
    monkeypatch.setattr(
        keras_objects, "make_optimizer", lambda t: optimizers.append(t) or real_optimizer(t)
    )
    sweep = {"params": {"train.learning_rate": [0.1, 0.03, 0.01, 0.003, 0.001],
                        "train.batch_size": [8, 16, 32, 64]},
             "variants": {"a": {}, "b": {"data.noise": 0.2}}}  # fmt: skip
    config = write_config(tmp_path, merge(TINY, {"sweep": sweep, "repeats": 2}))
    _, _, specs, _ = commands.prepare(config, None, {}, load_data=True)
    assert len(specs) == 80
    assert [a[0].noise for a in loads] == [0.1, 0.2]  # one dataset per data section
    assert len(optimizers) == 1  # one optimizer: every run names adam


def test_a_problem_of_one_point_is_still_found(tmp_path):
    sgd = {"train.optimizer": {"name": "sgd", "momentum": 2.0}}
    sweep = {"params": {"train.learning_rate": [0.1, 0.01]}, "variants": {"a": {}, "b": sgd}}
    result = invoke("validate", write_config(tmp_path, merge(TINY, {"sweep": sweep})))
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: train.optimizer: ")
    assert "momentum" in result.output


def test_a_name_too_long_for_a_folder_is_refused(tmp_path):
    result = invoke("validate", write_config(tmp_path, merge(TINY, {"name": "n" * 300})))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: name: must be at most 100 characters (it names a folder), got 300"
    )


def fabricated_experiment(root: Path, n: int) -> Path:
    """``n`` finished runs of a learning-rate sweep, written as a sweep writes them."""
    exp = root / "lr-sweep"
    lines = ["run_id,train.learning_rate,seed,status,best_val_accuracy\n"]
    for k in range(n):
        run = exp / f"learning_rate={k}_seed=0_abc{k:03d}"
        run.mkdir(parents=True)
        (run / "history.csv").write_text(
            "epoch,loss,accuracy,val_loss,val_accuracy\n0,1.0,0.5,1.1,0.5\n1,0.5,0.7,0.6,0.6\n"
        )
        (run / "result.json").write_text(json.dumps({"run_id": run.name, "status": "completed"}))
        lines.append(f"{run.name},{k},0,completed,{0.6 + 0.01 * k}\n")
    (exp / "summary.csv").write_text("".join(lines))
    return exp


def test_plot_of_a_large_experiment_draws_the_runs_with_runs(tmp_path, monkeypatch):
    from nnlab import plots

    monkeypatch.setattr(plots, "PER_RUN_PLOTS_MAX", 2)  # 3 runs stand for a large sweep
    monkeypatch.setattr(plots.files, "PER_RUN_PLOTS_MAX", 2)
    exp = fabricated_experiment(tmp_path, 3)
    comparison = ["best_val_accuracy_vs_learning_rate.png", "curves_accuracy.png",
                  "curves_loss.png"]  # fmt: skip

    result = invoke("plot", exp)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (exp / "plots").iterdir()) == comparison
    assert list(exp.glob("*/plots")) == []
    assert f"wrote 3 comparison plots in {exp / 'plots'};" in result.output
    assert "per-run plots of its 3 runs (more than 2) were not drawn" in result.output
    assert f"`nnlab plot {exp} --runs` draws them" in result.output

    result = invoke("plot", exp, "--runs")
    assert result.exit_code == 0, result.output
    assert len(list(exp.glob("*/plots/learning_curves.png"))) == 3
    assert "and 3 plots of 3 runs in their plots/" in result.output
    assert "were not drawn" not in result.output
    printed = [line for line in result.output.splitlines() if line.endswith(".png")]
    assert printed == [str(exp / "plots" / name) for name in
                       ("curves_loss.png", "curves_accuracy.png", comparison[0])]  # fmt: skip


def test_plot_of_a_small_experiment_lists_every_png(tmp_path):
    exp = fabricated_experiment(tmp_path, 2)
    result = invoke("plot", exp)
    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if line.endswith(".png")]
    assert len(printed) == 2 + 3 and printed[0].endswith("learning_curves.png")
    assert "wrote 3 comparison plots" in result.output and "2 plots of 2 runs" in result.output


def test_plot_help_names_the_per_run_threshold():
    from nnlab import plots

    result = runner.invoke(app, ["plot", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"past {plots.PER_RUN_PLOTS_MAX} runs" in " ".join(result.output.split())
    assert f"up to {plots.PER_RUN_PLOTS_MAX} runs" in " ".join(result.output.split())
