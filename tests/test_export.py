"""TensorBoard and MLflow output, read back with each tool's own reader: TensorBoard's event
accumulator (and its HParams plugin's parser), and ``mlflow.MlflowClient``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nnlab
from nnlab.cli import app

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "name": "tb",
    "data": {"name": "circles", "n_samples": 240},
    "model": {"kind": "mlp", "hidden": [6]},
    "train": {"epochs": 4, "optimizer": "adam", "capture": ["weights"], "evaluate_on": ["all"]},
    # a mixed axis (a number and a name): TensorBoard needs one type per HParams column
    "sweep": {"train.learning_rate": [0.01, 0.1], "train.batch_size": [16, "full"]},
}
ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def accumulator(folder: Path):
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0,
                                                          ea.TENSORS: 0})  # fmt: skip
    acc.Reload()
    return acc


def run_dirs(exp: Path) -> list[Path]:
    return sorted(p for p in exp.iterdir() if (p / "result.json").is_file())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep trained twice: with train.tensorboard (``on``) and without (``off``)."""
    out = tmp_path_factory.mktemp("export")
    nnlab.run(CONFIG, out=out / "on", tensorboard=True, quiet=True)
    nnlab.run(CONFIG, out=out / "off", quiet=True)
    return out


def test_scalars_per_epoch_equal_the_history(trained: Path):
    runs = run_dirs(trained / "on" / "tb")
    assert len(runs) == 4
    for run in runs:
        history = pd.read_csv(run / "history.csv")
        train = accumulator(run / "tensorboard" / "train")
        validation = accumulator(run / "tensorboard" / "validation")
        for column, acc, tag in [("loss", train, "epoch_loss"),
                                 ("accuracy", train, "epoch_accuracy"),
                                 ("learning_rate", train, "epoch_learning_rate"),
                                 ("val_loss", validation, "epoch_loss"),
                                 ("val_accuracy", validation, "epoch_accuracy")]:  # fmt: skip
            events = acc.Scalars(tag)
            assert [e.step for e in events] == [0, 1, 2, 3, 4]
            np.testing.assert_allclose([e.value for e in events], history[column], rtol=1e-6)


def test_capture_gives_weight_stats_and_real_histograms(trained: Path):
    run = run_dirs(trained / "on" / "tb")[0]
    acc = accumulator(run / "tensorboard" / "train")
    weights = pd.read_csv(run / "weights.csv")
    std = weights[(weights.layer == "dense1") & (weights.tensor == "kernel")
                  & (weights.stat == "std")]  # fmt: skip
    events = acc.Scalars("weights/dense1/kernel/std")
    np.testing.assert_allclose([e.value for e in events], std.value, rtol=1e-6)
    histograms = acc.Histograms("weights/dense1/kernel")
    assert [h.step for h in histograms] == [0, 1, 2, 3, 4]
    for h in histograms:  # a 2x6 kernel: 12 values in the buckets
        assert h.histogram_value.num == 12
        assert sum(h.histogram_value.bucket) == 12
        assert h.histogram_value.min < h.histogram_value.max
    # the kernel moved: the histograms of epoch 0 and 4 differ
    assert histograms[0].histogram_value.bucket != histograms[-1].histogram_value.bucket


def test_hparams_sessions_hold_swept_values_seed_status_and_metrics(trained: Path):
    from tensorboard.plugins.hparams import metadata

    exp = trained / "on" / "tb"
    summary = pd.read_csv(exp / "summary.csv")
    for _, row in summary.iterrows():
        session = accumulator(exp / row.run_id / "tensorboard")
        content = session.PluginTagToContent("hparams")
        start = metadata.parse_session_start_info_plugin_data(
            content[metadata.SESSION_START_INFO_TAG])
        hparams = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
        assert hparams == {"train.learning_rate": row["train.learning_rate"],
                           "train.batch_size": str(row["train.batch_size"]),
                           "seed": 0.0}  # fmt: skip
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        assert end.status == 1  # STATUS_SUCCESS
        best = session.Scalars("best_val_loss")
        assert len(best) == 1 and best[0].step == row.best_epoch
        assert best[0].value == pytest.approx(row.best_val_loss, rel=1e-6)
        # train.evaluate_on's numbers are metrics of the session too
        assert session.Scalars("all_accuracy")[0].value == pytest.approx(row.all_accuracy)
    experiment = accumulator(exp / "tensorboard").PluginTagToContent("hparams")
    info = metadata.parse_experiment_plugin_data(experiment[metadata.EXPERIMENT_TAG])
    domains = {h.name: list(h.domain_discrete) for h in info.hparam_infos}
    assert domains == {"train.learning_rate": [0.01, 0.1], "train.batch_size": ["16", "full"],
                       "seed": [0.0]}  # fmt: skip
    types = {h.name: h.type for h in info.hparam_infos}
    assert types == {"train.learning_rate": 3, "train.batch_size": 1, "seed": 3}  # FLOAT64, STRING
    assert {m.name.tag for m in info.metric_infos} >= {"final_val_loss", "best_val_accuracy"}


def test_export_writes_the_same_numbers_for_runs_trained_without_it(trained: Path):
    exp = trained / "off" / "tb"
    assert not list(exp.rglob("*tfevents*"))
    result = CliRunner().invoke(app, ["export", "tensorboard", str(exp)])
    assert result.exit_code == 0, result.output
    assert "4 runs" in result.output
    for run_on, run_off in zip(run_dirs(trained / "on" / "tb"), run_dirs(exp), strict=True):
        assert run_on.name == run_off.name  # same run ids: tensorboard is not hashed
        for part in ("train", "validation"):
            on, off = accumulator(run_on / "tensorboard" / part), \
                accumulator(run_off / "tensorboard" / part)  # fmt: skip
            assert on.Tags()["scalars"] == off.Tags()["scalars"]
            for tag in on.Tags()["scalars"]:
                assert [e.value for e in on.Scalars(tag)] == [e.value for e in off.Scalars(tag)]
    # exporting again replaces nnlab's files instead of adding to them
    CliRunner().invoke(app, ["export", "tensorboard", str(exp)])
    files = list(run_dirs(exp)[0].rglob("*tfevents*"))
    assert len(files) == 3  # train, validation, the session


@pytest.mark.parametrize("args, message", [
    (["export", "tensorboard", "/nonexistent/x"], "no such directory"),
    (["export", "mlflow", "/nonexistent/x"], "no such directory"),
])  # fmt: skip
def test_export_of_a_missing_folder_exits_2(args: list[str], message: str):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_export_of_a_run_folder_names_its_experiment(trained: Path):
    run = run_dirs(trained / "on" / "tb")[0]
    result = CliRunner().invoke(app, ["export", "tensorboard", str(run)])
    assert result.exit_code == 2
    assert "is a run folder" in result.output


def test_export_mlflow_without_mlflow_exits_2_with_the_install_command(
    trained: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    result = CliRunner().invoke(app, ["export", "mlflow", str(trained / "off" / "tb")])
    assert result.exit_code == 2
    assert "pip install 'nnlab[mlflow]'" in result.output


def test_mlflow_round_trip_and_idempotence(trained: Path, tmp_path: Path):
    mlflow = pytest.importorskip("mlflow")
    exp = trained / "on" / "tb"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["export", "mlflow", str(exp), "--tracking-uri", uri]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "logged 4" in first.output
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tb")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    summary = pd.read_csv(exp / "summary.csv").set_index("run_id")
    for run in runs:
        run_id = run.data.tags["nnlab.run_id"]
        assert run.info.run_name == run_id
        assert run.data.tags["nnlab.status"] == "completed"
        assert run.data.tags["nnlab.diagnosis"] == summary.loc[run_id, "diagnosis"]
        params = run.data.params
        assert float(params["train.learning_rate"]) == summary.loc[run_id, "train.learning_rate"]
        assert params["train.batch_size"] == str(summary.loc[run_id, "train.batch_size"])
        assert params["data.name"] == "circles" and params["train.epochs"] == "4"
        history = pd.read_csv(exp / run_id / "history.csv")
        logged = client.get_metric_history(run.info.run_id, "val_loss")
        assert [m.step for m in logged] == list(history.epoch)
        np.testing.assert_allclose([m.value for m in logged], history.val_loss, rtol=1e-6)
        assert run.data.metrics["best_val_loss"] == pytest.approx(
            summary.loc[run_id, "best_val_loss"], rel=1e-6)
        assert run.data.metrics["all_accuracy"] == pytest.approx(
            summary.loc[run_id, "all_accuracy"], rel=1e-6)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"history.csv", "config.yaml", "result.json", "plots"} <= artifacts
        plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert "plots/curves.png" in plots or any(p.endswith(".png") for p in plots)
        assert run.info.status == "FINISHED"
    # again: nothing new
    second = CliRunner().invoke(app, args)
    assert "logged 0" in second.output and "unchanged 4" in second.output
    assert len(client.search_runs([experiment.experiment_id])) == 4
    # a run that changed (trained again) replaces its MLflow run, still one per nnlab run
    changed = sorted(summary.index)[0]
    record = exp / changed / "result.json"
    record.write_text(record.read_text().replace('"completed"', '"completed" '))
    third = CliRunner().invoke(app, args)
    assert "replaced 1" in third.output and "unchanged 3" in third.output
    assert len(client.search_runs([experiment.experiment_id])) == 4


@pytest.mark.slow
def test_jax_fused_runs_write_tensorboard_without_importing_tensorflow(tmp_path: Path):
    """Fused JAX members write their event files where they trained; TensorFlow is never
    imported (the writer uses TensorBoard's protocol buffers only)."""
    script = f"""
import sys, json
import nnlab
nnlab.run({CONFIG!r}, out={str(tmp_path)!r}, backend="jax", tensorboard=True, quiet=True)
print(json.dumps({{"tf": "tensorflow" in sys.modules}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"tf": false' in done.stdout
    exp = tmp_path / "tb"
    runs = run_dirs(exp)
    import json

    assert all(json.loads((r / "result.json").read_text()).get("fused") for r in runs)
    for run in runs:
        history = pd.read_csv(run / "history.csv")
        events = accumulator(run / "tensorboard" / "validation").Scalars("epoch_loss")
        np.testing.assert_allclose([e.value for e in events], history.val_loss, rtol=1e-6)
        assert accumulator(run / "tensorboard" / "train").Histograms("weights/dense1/kernel")


@pytest.mark.slow
def test_pool_workers_write_tensorboard_where_the_runs_train(tmp_path: Path):
    nnlab.run(CONFIG, out=tmp_path, workers=2, tensorboard=True, quiet=True)
    runs = run_dirs(tmp_path / "tb")
    assert len(runs) == 4
    for run in runs:
        history = pd.read_csv(run / "history.csv")
        events = accumulator(run / "tensorboard" / "train").Scalars("epoch_loss")
        np.testing.assert_allclose([e.value for e in events], history.loss, rtol=1e-6)


@pytest.mark.slow
def test_tensorboard_itself_lists_every_run_in_its_hparams_dashboard(trained: Path):
    """``tensorboard --logdir`` serves the HParams dashboard's data: every run, its swept
    values and metrics (the same requests the dashboard makes)."""
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("tensorboard")
    server = subprocess.Popen([str(exe), "--logdir", str(trained / "on" / "tb"), "--port",
                               str(port), "--host", "127.0.0.1", "--load_fast=false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    # sorted and filtered by the mixed column, as the dashboard does when a user clicks it
    columns = [{"hparam": "train.batch_size", "order": "ORDER_ASC",
                "filterRegexp": "full|16"}]  # fmt: skip
    body = json.dumps({"experimentName": "", "allowedStatuses": ["STATUS_SUCCESS"],
                       "colParams": columns, "startIndex": 0, "sliceSize": 100}).encode()
    url = f"http://127.0.0.1:{port}/data/plugin/hparams/session_groups"
    try:
        deadline, groups = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    groups = json.loads(response.read())["sessionGroups"]
                if len(groups) == 4:
                    break
            except OSError:
                pass
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(30)
    assert groups is not None and len(groups) == 4
    summary = pd.read_csv(trained / "on" / "tb" / "summary.csv").set_index("run_id")
    for group in groups:
        run_id = group["name"].split("/")[0]
        assert group["hparams"]["train.learning_rate"] == summary.loc[run_id,
                                                                      "train.learning_rate"]
        assert group["hparams"]["train.batch_size"] == str(summary.loc[run_id,
                                                                       "train.batch_size"])
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert metrics["best_val_accuracy"] == pytest.approx(
            summary.loc[run_id, "best_val_accuracy"], rel=1e-6)


def test_the_run_end_hook_writes_tensorboard_only_when_the_run_asks(trained: Path, tmp_path):
    import shutil

    from nnlab import hooks

    run = tmp_path / "run"
    shutil.copytree(run_dirs(trained / "off" / "tb")[0], run)
    shutil.rmtree(run / "tensorboard", ignore_errors=True)  # an export test may have run
    hooks.tensorboard_run(run, {})
    assert not (run / "tensorboard").exists()  # its config.yaml says tensorboard: false
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("tensorboard: false", "tensorboard: true"))
    hooks.tensorboard_run(run, {})
    assert len(accumulator(run / "tensorboard" / "train").Scalars("epoch_loss")) == 5


def diverging_config(tmp_path: Path) -> dict:
    from helpers import linear_csv

    return {"name": "div", "data": {"name": "csv", "path": str(linear_csv(tmp_path)),
                                    "target": "y"},
            "model": {"kind": "mlp", "hidden": [8]},
            "train": {"epochs": 30, "optimizer": "sgd", "batch_size": 16,
                      "capture": ["weights", "gradients"]},
            "sweep": {"train.learning_rate": [0.001, 5.0]}}  # fmt: skip


def test_a_diverged_run_with_capture_is_diverged_and_exports(tmp_path: Path):
    """Weights that became NaN or inf neither fail the run (its capture skips them) nor the
    TensorBoard files (the epochs without a finite weight have no histogram)."""
    nnlab.run(diverging_config(tmp_path), out=tmp_path / "out", tensorboard=True, quiet=True)
    summary = pd.read_csv(tmp_path / "out" / "div" / "summary.csv")
    assert sorted(summary.status) == ["completed", "diverged"]
    for run in run_dirs(tmp_path / "out" / "div"):
        acc = accumulator(run / "tensorboard" / "train")
        assert len(acc.Scalars("epoch_loss")) >= 1
        histograms = acc.Histograms("weights/dense1/kernel")
        assert histograms and all(h.histogram_value.num == 24 for h in histograms)  # 3x8


@pytest.mark.slow
def test_a_diverging_member_of_a_fused_group_fails_nobody(tmp_path: Path):
    config = diverging_config(tmp_path)
    script = f"""
import nnlab
nnlab.run({config!r}, out={str(tmp_path / "out")!r}, backend="jax", tensorboard=True, quiet=True)
"""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    runs = run_dirs(tmp_path / "out" / "div")
    records = [json.loads((r / "result.json").read_text()) for r in runs]
    assert all(r.get("fused") for r in records)
    assert sorted(r["status"] for r in records) == ["completed", "diverged"]


def test_mlflow_export_cut_short_is_finished_by_the_next(trained: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    """A failure mid-export (an upload, Ctrl-C) leaves a run without its fingerprint: the next
    export logs it again and deletes the partial one, so each nnlab run has one whole run."""
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["export", "mlflow", str(trained / "on" / "tb"), "--tracking-uri", uri]
    calls = {"n": 0}
    original = mlflow.MlflowClient.log_artifact

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("upload failed")
        return original(self, *a, **k)

    monkeypatch.setattr(mlflow.MlflowClient, "log_artifact", flaky)
    cut = CliRunner().invoke(app, args)
    assert cut.exit_code == 1 and "the same command finishes the rest" in cut.output
    monkeypatch.setattr(mlflow.MlflowClient, "log_artifact", original)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "logged 3, replaced 1" in again.output
    client = mlflow.MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("tb").experiment_id])
    assert len(runs) == 4 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(client.list_artifacts(r.info.run_id)) >= 4 for r in runs)


def test_mlflow_keeps_two_folders_of_one_name_apart_and_takes_relative_uris(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    pytest.importorskip("mlflow")
    other = tmp_path / "elsewhere" / "tb"
    shutil.copytree(trained / "on" / "tb", other)
    monkeypatch.chdir(tmp_path)
    args = ["--tracking-uri", "sqlite:///rel.db"]  # relative to the current folder
    for folder, expected in [(trained / "on" / "tb", "logged 4"), (other, "logged 4"),
                             (trained / "on" / "tb", "unchanged 4")]:  # fmt: skip
        result = CliRunner().invoke(app, ["export", "mlflow", str(folder), *args])
        assert result.exit_code == 0, result.output
        assert expected in result.output
    assert (tmp_path / "rel.db").is_file() and (tmp_path / "mlartifacts" / "tb").is_dir()
