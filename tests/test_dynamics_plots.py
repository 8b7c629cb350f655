"""Plots of the captured training dynamics: the data as numbers, the drawing by the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlab import dynamics_plots as dp
from nnlab import plots, store
from nnlab.errors import NnlabError

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


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    """6 runs (sigmoid, tanh) x 3 seeds with weights and gradients, plus a failed run and a
    run without capture files."""
    exp = tmp_path / "act"
    lines = [SUMMARY_COLUMNS + "\n"]
    for activation in ("sigmoid", "tanh"):
        for seed in SEEDS:
            rid = f"activation={activation}_seed={seed}_abc"
            write_long(exp / rid / dp.GRADIENTS_FILE, long_rows(activation, seed, "gradients"))
            write_long(exp / rid / dp.WEIGHTS_FILE, long_rows(activation, seed, "weights"))
            lines.append(f"{rid},{activation},{seed},completed,{EPOCHS},0.8,0.9,3,1.0,\n")
    # a failed relu run whose file must not be read, and a relu run that captured nothing
    failed = "activation=relu_seed=0_abc"
    write_long(exp / failed / dp.GRADIENTS_FILE, long_rows("tanh", 0, "gradients"))
    lines.append(f"{failed},relu,0,failed,0,,,,0.1,\n")
    lines.append("activation=relu_seed=1_abc,relu,1,completed,4,0.8,0.9,3,1.0,\n")
    (exp / "activation=relu_seed=1_abc").mkdir(parents=True)
    (exp / store.SUMMARY_FILE).write_text("".join(lines))
    return exp


def summary_of(exp: Path) -> pd.DataFrame:
    return plots.read_summary(exp / store.SUMMARY_FILE)


# --------------------------------------------------------------------------------------------
# one run: reading and panels
# --------------------------------------------------------------------------------------------


def test_read_layer_stats_drops_a_cut_last_line(tmp_path: Path) -> None:
    rows = long_rows("sigmoid", 0, "gradients", epochs=1)
    path = write_long(tmp_path / "gradients.csv", rows, cut="2,dense1,kernel,st")
    df = dp.read_layer_stats(path)
    assert len(df) == len(rows)
    assert df["epoch"].max() == 1
    assert df["epoch"].dtype.kind == "i"
    assert df["value"].dtype == float
    # a cut value that still parses as a number is dropped as well: no newline, not complete
    path = write_long(tmp_path / "g2.csv", rows, cut="2,dense1,kernel,std,0.0")
    assert dp.read_layer_stats(path)["epoch"].max() == 1


def test_read_layer_stats_errors(tmp_path: Path) -> None:
    with pytest.raises(NnlabError, match="no statistics"):
        dp.read_layer_stats(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("epoch,layer,value\n0,dense1,1.0\n")
    with pytest.raises(NnlabError, match="missing columns tensor, stat"):
        dp.read_layer_stats(tmp_path / "bad.csv")
    (tmp_path / "header.csv").write_text("epoch,layer,tensor,stat,value\n0,dense1,ker")
    with pytest.raises(NnlabError, match="no complete row"):
        dp.read_layer_stats(tmp_path / "header.csv")


def test_layer_panels_order_log_axes_and_reference(tmp_path: Path) -> None:
    df = dp.read_layer_stats(
        write_long(tmp_path / "g.csv", long_rows("sigmoid", 0, "gradients", epochs=2))
    )
    panels = dp.layer_panels(df, dp.GRADIENT_STATS)
    assert [p.stat for p in panels] == ["mean", "std", "update_ratio"]
    assert [p.log_y for p in panels] == [False, True, True]
    assert [p.reference for p in panels] == [None, None, 1e-3]
    std = panels[1]
    assert [ln.layer for ln in std.lines] == LAYERS
    assert [ln.depth for ln in std.lines] == [0, 1, 2, 3, 4]
    assert std.n_layers == 5
    np.testing.assert_array_equal(std.line("dense1").epochs, [0, 1, 2])
    np.testing.assert_allclose(std.line("dense1").values, [1e-4, 1.1e-4, 1.2e-4])
    np.testing.assert_allclose(std.line("output").values, [1.0, 1.1, 1.2])


def test_layer_panels_kernel_only_and_order_of_first_appearance(tmp_path: Path) -> None:
    rows = [
        "0,conv2,kernel,std,0.5\n",  # the file's order is the depth order, not the names'
        "0,conv2,bias,std,9.0\n",
        "0,conv1,kernel,std,0.25\n",
        "1,conv2,kernel,std,0.4\n",
        "1,conv1,kernel,std,0.2\n",
    ]
    df = dp.read_layer_stats(write_long(tmp_path / "w.csv", rows))
    (std,) = dp.layer_panels(df, ("std",))
    assert [ln.layer for ln in std.lines] == ["conv2", "conv1"]
    np.testing.assert_allclose(std.line("conv2").values, [0.5, 0.4])  # the bias is not drawn
    (bias,) = dp.layer_panels(df, ("std",), tensor="bias")
    assert [ln.layer for ln in bias.lines] == ["conv2"]
    assert dp.layer_panels(df, ("mean",)) == []  # no such stat: no panel


def test_layer_panels_drop_non_finite_and_non_positive_on_log(tmp_path: Path) -> None:
    rows = [
        "0,dense1,kernel,mean,-0.5\n",
        "0,dense1,kernel,std,0.1\n",
        "1,dense1,kernel,mean,nan\n",
        "1,dense1,kernel,std,0.0\n",  # log axis: a zero cannot be drawn
        "2,dense1,kernel,mean,0.25\n",
        "2,dense1,kernel,std,inf\n",
        "3,dense1,kernel,mean,-inf\n",
        "3,dense1,kernel,std,-1.0\n",
        "0,dense2,kernel,std,nan\n",  # a layer with nothing left has no line
    ]
    df = dp.read_layer_stats(write_long(tmp_path / "w.csv", rows))
    mean, std = dp.layer_panels(df, ("mean", "std"))
    np.testing.assert_array_equal(mean.line("dense1").epochs, [0, 2])
    np.testing.assert_allclose(mean.line("dense1").values, [-0.5, 0.25])  # negatives kept
    np.testing.assert_array_equal(std.line("dense1").epochs, [0])
    assert std.line("dense2") is None
    assert mean.n_layers == 2  # dense2 keeps its colour slot


def test_batch_panels_epoch_means_and_metrics(tmp_path: Path) -> None:
    text = batches_text(epochs=3, per_epoch=5, n=150)  # sizes 32, 32, 32, 32, 22
    (tmp_path / "batches.csv").write_text(text + "4,0,16,32,0.2")  # cut mid-write
    df = dp.read_batches(tmp_path / "batches.csv")
    assert len(df) == 15
    assert dp.batch_metrics(df) == ["loss", "accuracy"]
    loss, acc = dp.batch_panels(df)
    assert (loss.metric, acc.metric) == ("loss", "accuracy")
    np.testing.assert_array_equal(loss.steps, np.arange(1, 16))
    np.testing.assert_array_equal(loss.epochs, [1, 2, 3])
    np.testing.assert_allclose(loss.epoch_steps, [3.0, 8.0, 13.0])
    sizes = np.array([32, 32, 32, 32, 22])
    for epoch in (1, 2, 3):
        expected = np.average(1.0 / epoch + 0.01 * np.arange(5), weights=sizes)
        assert loss.epoch_means[epoch - 1] == pytest.approx(expected)
    np.testing.assert_allclose(acc.epoch_means, [0.6, 0.7, 0.8])
    assert not loss.log_y
    assert dp.steps_per_epoch(df) == 5


def test_batch_panels_non_finite_and_log(tmp_path: Path) -> None:
    text = (
        "epoch,batch,step,size,loss\n"
        "1,0,1,10,10.0\n1,1,2,10,nan\n2,0,3,10,0.05\n2,1,4,10,0.0\n3,0,5,10,inf\n3,1,6,10,0.01\n"
    )
    (tmp_path / "batches.csv").write_text(text)
    (loss,) = dp.batch_panels(dp.read_batches(tmp_path / "batches.csv"))
    assert loss.log_y  # 10 down to 0.01: three decades
    np.testing.assert_array_equal(loss.steps, [1, 3, 6])  # nan, 0 (log) and inf dropped
    np.testing.assert_allclose(loss.epoch_means, [10.0, 0.05, 0.01])
    np.testing.assert_allclose(loss.epoch_steps, [1.0, 3.0, 6.0])


def test_steps_per_epoch_varies() -> None:
    df = pd.DataFrame({"epoch": [1, 1, 2, 2, 2, 3], "step": [1, 2, 3, 4, 5, 6]})
    assert dp.steps_per_epoch(df) is None
    df = pd.DataFrame({"epoch": [1, 1, 2, 2, 3], "step": [1, 2, 3, 4, 5]})  # last cut short
    assert dp.steps_per_epoch(df) == 2


# --------------------------------------------------------------------------------------------
# one run: drawing
# --------------------------------------------------------------------------------------------


def test_plot_run_dynamics_writes_what_exists(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_long(run / dp.WEIGHTS_FILE, long_rows("sigmoid", 0, "weights"))
    write_long(run / dp.GRADIENTS_FILE, long_rows("sigmoid", 0, "gradients"))
    (run / dp.BATCHES_FILE).write_text(batches_text())
    (run / store.RESULT_FILE).write_text(json.dumps({"run_id": "r", "status": "completed"}))
    written = dp.plot_run_dynamics(run)
    assert [p.name for p in written] == ["weights.png", "gradients.png", "batches.png"]
    for p in written:
        assert p.parent == run / store.PLOTS_DIR
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_run_dynamics_missing_or_empty_files_draw_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert dp.plot_run_dynamics(run) == []
    (run / dp.GRADIENTS_FILE).write_text("epoch,layer,tensor,stat,value\n")  # header only
    (run / dp.WEIGHTS_FILE).write_text(
        "epoch,layer,tensor,stat,value\n0,dense1,kernel,std,nan\n0,dense1,kernel,mean,inf\n"
    )
    (run / dp.BATCHES_FILE).write_text("epoch,batch,step,size,loss\n1,0,1,32,nan\n1,1,2,3")
    assert dp.plot_run_dynamics(run) == []
    assert not (run / store.PLOTS_DIR).exists()


def test_plot_run_dynamics_only_batches_of_a_diverged_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / dp.BATCHES_FILE).write_text(
        "epoch,batch,step,size,loss\n1,0,1,32,1.0\n1,1,2,32,1e30\n2,0,3,32,inf\n2,1,4,32,nan\n"
    )
    assert [p.name for p in dp.plot_run_dynamics(run)] == ["batches.png"]


def test_plot_run_hook_adds_the_dynamics(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / store.HISTORY_FILE).write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.6\n2,0.4,0.5\n")
    write_long(run / dp.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", epochs=2))
    names = [p.name for p in plots.plot_run(run)]
    assert names == [plots.LEARNING_CURVES_FILE, "gradients.png"]


# --------------------------------------------------------------------------------------------
# experiment
# --------------------------------------------------------------------------------------------


def test_read_captures_skips_failed_and_missing(experiment: Path) -> None:
    frames = dp.read_captures(experiment, summary_of(experiment), "gradients")
    assert len(frames) == 6
    assert all("relu" not in rid for rid in frames)
    with pytest.raises(NnlabError, match="capture kind"):
        dp.read_captures(experiment, summary_of(experiment), "batches")


def test_group_layer_curves_geometric_mean_over_seeds(experiment: Path) -> None:
    summary = summary_of(experiment)
    frames = dp.read_captures(experiment, summary, "gradients")
    data = dp.group_layer_curves(summary, frames, "std")
    assert data.log_y
    assert data.layers == LAYERS
    assert [g.label for g in data.groups] == ["activation=sigmoid", "activation=tanh"]
    assert [g.color for g in data.groups] == [0, 1]
    assert [g.n_runs for g in data.groups] == [3, 3]
    sigmoid, tanh = data.groups
    band = sigmoid.layers["dense1"]
    np.testing.assert_array_equal(band.epochs, np.arange(EPOCHS + 1))
    np.testing.assert_array_equal(band.n, [3] * (EPOCHS + 1))
    # seeds x1, x2, x4: geometric mean x2, geometric std of (1, 2, 4) is 2 (log std = ln 2)
    expected = 2.0 * 1e-4 * (1.0 + 0.1 * np.arange(EPOCHS + 1))
    np.testing.assert_allclose(band.center, expected)
    np.testing.assert_allclose(band.low, expected / 2.0)
    np.testing.assert_allclose(band.high, expected * 2.0)
    np.testing.assert_allclose(sigmoid.layers["output"].center[0], 2.0)
    np.testing.assert_allclose(tanh.layers["dense1"].center[0], 2e-2)


def test_group_layer_curves_linear_mean_and_nan(experiment: Path) -> None:
    summary = summary_of(experiment)
    frames = dp.read_captures(experiment, summary, "gradients")
    rid = "activation=tanh_seed=0_abc"
    df = frames[rid].copy()
    hit = (df["layer"] == "dense1") & (df["stat"] == "mean") & (df["epoch"] == 1)
    df.loc[hit, "value"] = np.nan  # a diverged run: left out at that epoch only
    frames[rid] = df
    data = dp.group_layer_curves(summary, frames, "mean")
    assert not data.log_y
    band = data.groups[1].layers["dense1"]
    np.testing.assert_array_equal(band.n, [3, 2, 3, 3, 3])
    np.testing.assert_allclose(band.center, -2e-3)
    np.testing.assert_allclose(band.low, band.center)  # identical seeds: no spread
    assert np.isfinite(band.high).all()


def test_layer_order_merges_models_of_different_depth() -> None:
    a = pd.DataFrame({"layer": ["dense1", "dense2", "output"]})
    b = pd.DataFrame({"layer": ["dense1", "dense2", "dense3", "dense4", "output"]})
    c = pd.DataFrame({"layer": ["conv1", "dense1"]})
    assert dp.layer_order([a, b]) == ["dense1", "dense2", "dense3", "dense4", "output"]
    assert dp.layer_order([a, c]) == ["conv1", "dense1", "dense2", "output"]


def test_layer_stat_table(experiment: Path) -> None:
    summary = summary_of(experiment)
    table = dp.layer_stat_table(experiment, summary)  # gradients, std, epoch 1
    assert list(table.columns) == LAYERS
    assert list(table.index) == ["activation=sigmoid", "activation=tanh"]
    assert table.index.name == "group"
    mean_seed = (1 + 2 + 4) / 3  # arithmetic mean of the seed factors
    for depth, layer in enumerate(LAYERS):
        assert table.loc["activation=sigmoid", layer] == pytest.approx(
            10.0 ** -(4 - depth) * mean_seed * 1.1
        )
        assert table.loc["activation=tanh", layer] == pytest.approx(1e-2 * mean_seed * 1.1)

    last = dp.layer_stat_table(experiment, summary, kind="weights", stat="norm", epoch="last")
    factor = 1.0 + 0.1 * EPOCHS
    assert last.loc["activation=tanh", "output"] == pytest.approx(10 * 1e-2 * mean_seed * factor)
    bias = dp.layer_stat_table(experiment, summary, kind="weights", epoch=0, tensor="bias")
    assert bias.loc["activation=tanh", "dense1"] == pytest.approx(1e-3 * mean_seed)

    with pytest.raises(NnlabError, match="epoch must be"):
        dp.layer_stat_table(experiment, summary, epoch="first")  # type: ignore[arg-type]


def test_layer_stat_table_last_epoch_per_run_and_missing_values(experiment: Path) -> None:
    summary = summary_of(experiment)
    # seed 0 of tanh stopped early after epoch 2; seed 1 diverged at its last epoch
    rid0, rid1 = "activation=tanh_seed=0_abc", "activation=tanh_seed=1_abc"
    write_long(experiment / rid0 / dp.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", 2))
    rows = long_rows("tanh", 1, "gradients")
    rows = [r.replace(r.rsplit(",", 1)[1], "nan\n") if r.startswith(f"{EPOCHS},") else r
            for r in rows]  # fmt: skip
    write_long(experiment / rid1 / dp.GRADIENTS_FILE, rows)
    table = dp.layer_stat_table(experiment, summary, epoch="last")
    expected = (1e-2 * 1.2 + 1e-2 * 4 * (1 + 0.1 * EPOCHS)) / 2  # seed 0 at 2, seed 2 at last
    assert table.loc["activation=tanh", "dense1"] == pytest.approx(expected)
    at9 = dp.layer_stat_table(experiment, summary, epoch=9)
    assert at9.isna().all().all()


def test_layer_stat_table_without_files(tmp_path: Path) -> None:
    summary = pd.DataFrame({"run_id": ["a"], "seed": ["0"], "status": ["completed"]})
    table = dp.layer_stat_table(tmp_path, summary)
    assert table.empty


def test_plot_experiment_dynamics_files(experiment: Path) -> None:
    written = dp.plot_experiment_dynamics(experiment, summary_of(experiment))
    assert [p.name for p in written] == ["gradients_std.png", "weights_std.png",
                                         "gradients_mean.png"]  # fmt: skip
    for p in written:
        assert p.parent == experiment / store.PLOTS_DIR
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_experiment_dynamics_only_gradients(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    write_long(exp / "r0" / dp.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", 1))
    summary = pd.DataFrame({"run_id": ["r0", "r1"], "status": ["completed", "completed"]})
    written = dp.plot_experiment_dynamics(exp, summary)
    assert [p.name for p in written] == ["gradients_std.png", "gradients_mean.png"]
    assert dp.plot_experiment_dynamics(tmp_path / "empty", summary) == []
    assert dp.plot_experiment_dynamics(exp, pd.DataFrame()) == []


def test_plot_experiment_hook(experiment: Path) -> None:
    for rid in summary_of(experiment)["run_id"]:
        (experiment / rid).mkdir(exist_ok=True)
        (experiment / rid / store.HISTORY_FILE).write_text("epoch,loss\n0,1.0\n1,0.5\n")
    names = {p.name for p in plots.plot_experiment(experiment)}
    assert {"gradients_std.png", "weights_std.png", "gradients_mean.png"} <= names
    assert "curves_loss.png" in names
