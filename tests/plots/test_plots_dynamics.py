"""Plot data of the captured training dynamics (``nnlab.plots.dynamics``), as numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plot_builders import EPOCHS, LAYERS, batches_text, long_rows, summary_of, write_long

from nnlab import store
from nnlab.errors import NnlabError
from nnlab.plots import dynamics

# ---------------------------------------------------------------------------- one run


def test_read_layer_stats_drops_a_cut_last_line(tmp_path: Path) -> None:
    rows = long_rows("sigmoid", 0, "gradients", epochs=1)
    path = write_long(tmp_path / "gradients.csv", rows, cut="2,dense1,kernel,st")
    df = dynamics.read_layer_stats(path)
    assert len(df) == len(rows)
    assert df["epoch"].max() == 1
    assert df["epoch"].dtype.kind == "i"
    assert df["value"].dtype == float
    # a cut value that still parses as a number is dropped as well: no newline, not complete
    path = write_long(tmp_path / "g2.csv", rows, cut="2,dense1,kernel,std,0.0")
    assert dynamics.read_layer_stats(path)["epoch"].max() == 1


def test_read_layer_stats_errors(tmp_path: Path) -> None:
    with pytest.raises(NnlabError, match="no statistics"):
        dynamics.read_layer_stats(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("epoch,layer,value\n0,dense1,1.0\n")
    with pytest.raises(NnlabError, match="missing columns tensor, stat"):
        dynamics.read_layer_stats(tmp_path / "bad.csv")
    (tmp_path / "header.csv").write_text("epoch,layer,tensor,stat,value\n0,dense1,ker")
    with pytest.raises(NnlabError, match="no complete row"):
        dynamics.read_layer_stats(tmp_path / "header.csv")


def test_layer_panels_order_log_axes_and_reference(tmp_path: Path) -> None:
    df = dynamics.read_layer_stats(
        write_long(tmp_path / "g.csv", long_rows("sigmoid", 0, "gradients", epochs=2))
    )
    panels = dynamics.layer_panels(df, dynamics.GRADIENT_STATS)
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
    df = dynamics.read_layer_stats(write_long(tmp_path / "w.csv", rows))
    (std,) = dynamics.layer_panels(df, ("std",))
    assert [ln.layer for ln in std.lines] == ["conv2", "conv1"]
    np.testing.assert_allclose(std.line("conv2").values, [0.5, 0.4])  # the bias is not drawn
    (bias,) = dynamics.layer_panels(df, ("std",), tensor="bias")
    assert [ln.layer for ln in bias.lines] == ["conv2"]
    assert dynamics.layer_panels(df, ("mean",)) == []  # no such stat: no panel


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
    df = dynamics.read_layer_stats(write_long(tmp_path / "w.csv", rows))
    mean, std = dynamics.layer_panels(df, ("mean", "std"))
    np.testing.assert_array_equal(mean.line("dense1").epochs, [0, 2])
    np.testing.assert_allclose(mean.line("dense1").values, [-0.5, 0.25])  # negatives kept
    np.testing.assert_array_equal(std.line("dense1").epochs, [0])
    assert std.line("dense2") is None
    assert mean.n_layers == 2  # dense2 keeps its colour slot


def test_batch_panels_epoch_means_and_metrics(tmp_path: Path) -> None:
    text = batches_text(epochs=3, per_epoch=5, n=150)  # sizes 32, 32, 32, 32, 22
    (tmp_path / "batches.csv").write_text(text + "4,0,16,32,0.2")  # cut mid-write
    df = dynamics.read_batches(tmp_path / "batches.csv")
    assert len(df) == 15
    assert dynamics.batch_metrics(df) == ["loss", "accuracy"]
    loss, acc = dynamics.batch_panels(df)
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
    assert dynamics.steps_per_epoch(df) == 5


def test_batch_panels_non_finite_and_log(tmp_path: Path) -> None:
    text = (
        "epoch,batch,step,size,loss\n"
        "1,0,1,10,10.0\n1,1,2,10,nan\n2,0,3,10,0.05\n2,1,4,10,0.0\n3,0,5,10,inf\n3,1,6,10,0.01\n"
    )
    (tmp_path / "batches.csv").write_text(text)
    (loss,) = dynamics.batch_panels(dynamics.read_batches(tmp_path / "batches.csv"))
    assert loss.log_y  # 10 down to 0.01: three decades
    np.testing.assert_array_equal(loss.steps, [1, 3, 6])  # nan, 0 (log) and inf dropped
    np.testing.assert_allclose(loss.epoch_means, [10.0, 0.05, 0.01])
    np.testing.assert_allclose(loss.epoch_steps, [1.0, 3.0, 6.0])


def test_steps_per_epoch_varies() -> None:
    df = pd.DataFrame({"epoch": [1, 1, 2, 2, 2, 3], "step": [1, 2, 3, 4, 5, 6]})
    assert dynamics.steps_per_epoch(df) is None
    df = pd.DataFrame({"epoch": [1, 1, 2, 2, 3], "step": [1, 2, 3, 4, 5]})  # last cut short
    assert dynamics.steps_per_epoch(df) == 2


# ---------------------------------------------------------------------------- experiment


def test_read_captures_skips_failed_and_missing(experiment: Path) -> None:
    frames = dynamics.read_captures(experiment, summary_of(experiment), "gradients")
    assert len(frames) == 6
    assert all("relu" not in rid for rid in frames)
    with pytest.raises(NnlabError, match="capture kind"):
        dynamics.read_captures(experiment, summary_of(experiment), "batches")


def test_group_layer_curves_geometric_mean_over_seeds(experiment: Path) -> None:
    summary = summary_of(experiment)
    frames = dynamics.read_captures(experiment, summary, "gradients")
    data = dynamics.group_layer_curves(summary, frames, "std")
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
    frames = dynamics.read_captures(experiment, summary, "gradients")
    rid = "activation=tanh_seed=0_abc"
    df = frames[rid].copy()
    hit = (df["layer"] == "dense1") & (df["stat"] == "mean") & (df["epoch"] == 1)
    df.loc[hit, "value"] = np.nan  # a diverged run: left out at that epoch only
    frames[rid] = df
    data = dynamics.group_layer_curves(summary, frames, "mean")
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
    assert dynamics.layer_order([a, b]) == ["dense1", "dense2", "dense3", "dense4", "output"]
    assert dynamics.layer_order([a, c]) == ["conv1", "dense1", "dense2", "output"]


def test_layer_stat_table(experiment: Path) -> None:
    summary = summary_of(experiment)
    table = dynamics.layer_stat_table(experiment, summary)  # gradients, std, epoch 1
    assert list(table.columns) == LAYERS
    assert list(table.index) == ["activation=sigmoid", "activation=tanh"]
    assert table.index.name == "group"
    mean_seed = (1 + 2 + 4) / 3  # arithmetic mean of the seed factors
    for depth, layer in enumerate(LAYERS):
        assert table.loc["activation=sigmoid", layer] == pytest.approx(
            10.0 ** -(4 - depth) * mean_seed * 1.1
        )
        assert table.loc["activation=tanh", layer] == pytest.approx(1e-2 * mean_seed * 1.1)

    last = dynamics.layer_stat_table(experiment, summary, kind="weights", stat="norm", epoch="last")
    factor = 1.0 + 0.1 * EPOCHS
    assert last.loc["activation=tanh", "output"] == pytest.approx(10 * 1e-2 * mean_seed * factor)
    bias = dynamics.layer_stat_table(experiment, summary, kind="weights", epoch=0, tensor="bias")
    assert bias.loc["activation=tanh", "dense1"] == pytest.approx(1e-3 * mean_seed)

    with pytest.raises(NnlabError, match="epoch must be"):
        dynamics.layer_stat_table(experiment, summary, epoch="first")  # type: ignore[arg-type]


def test_layer_stat_table_last_epoch_per_run_and_missing_values(experiment: Path) -> None:
    summary = summary_of(experiment)
    # seed 0 of tanh stopped early after epoch 2; seed 1 diverged at its last epoch
    rid0, rid1 = "activation=tanh_seed=0_abc", "activation=tanh_seed=1_abc"
    write_long(experiment / rid0 / store.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", 2))
    rows = long_rows("tanh", 1, "gradients")
    rows = [r.replace(r.rsplit(",", 1)[1], "nan\n") if r.startswith(f"{EPOCHS},") else r
            for r in rows]  # fmt: skip
    write_long(experiment / rid1 / store.GRADIENTS_FILE, rows)
    table = dynamics.layer_stat_table(experiment, summary, epoch="last")
    expected = (1e-2 * 1.2 + 1e-2 * 4 * (1 + 0.1 * EPOCHS)) / 2  # seed 0 at 2, seed 2 at last
    assert table.loc["activation=tanh", "dense1"] == pytest.approx(expected)
    at9 = dynamics.layer_stat_table(experiment, summary, epoch=9)
    assert at9.isna().all().all()


def test_layer_stat_table_without_files(tmp_path: Path) -> None:
    summary = pd.DataFrame({"run_id": ["a"], "seed": ["0"], "status": ["completed"]})
    table = dynamics.layer_stat_table(tmp_path, summary)
    assert table.empty


def test_the_layer_curves_of_many_settings_are_the_settings_the_learning_curves_show(
    tmp_path: Path,
) -> None:
    """Past CURVE_GROUPS_MAX settings the learning curves show the best and the worst; the
    per-layer plots show the same settings, in the same colours, with the same labels."""
    from nnlab.plots import comparison

    n = comparison.CURVE_GROUPS_MAX + 4
    path = write_long(tmp_path / "gradients.csv", long_rows("tanh", 0, "gradients"))
    table = dynamics.read_layer_stats(path)
    summary = pd.DataFrame({
        "run_id": [f"r{k}" for k in range(n)],
        "train.learning_rate": [f"0.{k:03d}" for k in range(n)],
        "status": ["completed"] * n,
        "best_val_accuracy": [0.5 + 0.01 * k for k in range(n)],
    })  # fmt: skip
    shown = comparison.shown_groups(summary)
    assert shown.limited and len(shown.groups) == 15
    frames = {f"r{k}": table for k in range(n)}
    data = dynamics.group_layer_curves(summary, frames, "std", shown=shown)
    assert [g.label for g in data.groups] == [shown.label(k) for k in range(15)]
    assert [g.color for g in data.groups] == list(range(15))
    assert data.groups[0].label.startswith("#1 learning_rate=0.023")
    everything = dynamics.group_layer_curves(summary, frames, "std")
    assert len(everything.groups) == n and everything.groups[0].label == "learning_rate=0.000"


def test_trajectories_only_for_a_model_of_a_few_single_numbers() -> None:
    from nnlab.plots import parameters

    def table(tensors: dict[str, list[tuple[float, float, float]]]) -> pd.DataFrame:
        rows = [{"epoch": e, "layer": "output", "tensor": t, "stat": s, "value": v}
                for t, per_epoch in tensors.items() for e, stats in enumerate(per_epoch)
                for s, v in zip(("mean", "std", "norm"), stats, strict=True)]  # fmt: skip
        return pd.DataFrame(rows)

    w = [1.0, 1.2, -0.5, float("nan")]  # a weight that turned negative, then diverged
    one = table({"kernel": [(v, 0.0, abs(v)) for v in w]})
    [path] = parameters.trajectories(one)
    assert path.name == "output/kernel" and path.epochs.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(path.values[:3], w[:3])
    # a tensor of several numbers (a std above 0, or a norm above |mean|) draws nothing
    assert parameters.trajectories(table({"kernel": [(0.5, 0.1, 0.9)] * 3})) == []
    assert parameters.trajectories(table({"kernel": [(0.5, 0.0, 1.0)] * 3})) == []
    many = table({f"w{i}": [(1.0, 0.0, 1.0)] * 2 for i in range(parameters.MAX_PARAMETERS + 1)})
    assert parameters.trajectories(many) == []
