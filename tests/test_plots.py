"""Plot data is tested as numbers; the drawing only for the files it writes, never pixels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlab import plots, store
from nnlab.errors import NnlabError
from nnlab.plots import TRAIN, VALIDATION

HEADER = "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,epoch_seconds\n"
ROWS = [
    "0,0.70,0.50,0.71,0.48,0.01,0.0\n",
    "1,0.50,0.70,0.55,0.66,0.01,0.1\n",
    "2,0.40,0.80,0.45,0.74,0.01,0.1\n",
    "3,0.30,0.85,0.47,0.72,0.01,0.1\n",
]


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


# ---------------------------------------------------------------------------- curve panels


def test_panels_pair_metrics_with_validation_and_style_splits() -> None:
    panels = plots.curve_panels(history())
    assert [p.metric for p in panels] == ["loss", "accuracy"]
    for panel in panels:
        assert [(ln.split, ln.label, ln.style) for ln in panel.lines] == [
            (TRAIN, "train", "solid"),
            (VALIDATION, "validation", "dashed"),
        ]
        np.testing.assert_array_equal(panel.lines[0].epochs, np.arange(6))
    acc = panels[1]
    np.testing.assert_allclose(acc.line(TRAIN).values, 0.5 + 0.08 * np.arange(6))
    np.testing.assert_allclose(acc.line(VALIDATION).values, [0.5, 0.6, 0.7, 0.75, 0.8, 0.78])


def test_loss_panel_comes_first_whatever_the_column_order() -> None:
    h = history()[["epoch", "accuracy", "val_accuracy", "loss", "val_loss", "learning_rate"]]
    assert [p.metric for p in plots.curve_panels(h)] == ["loss", "accuracy"]


@pytest.mark.parametrize(
    ("metric", "best_epoch", "best_value"),
    [
        pytest.param("loss", 3, 0.4, id="loss_min"),
        pytest.param("accuracy", 4, 0.8, id="accuracy_max"),
    ],
)
def test_best_epoch_of_validation_line(metric: str, best_epoch: int, best_value: float) -> None:
    panel = next(p for p in plots.curve_panels(history()) if p.metric == metric)
    assert panel.best_epoch == best_epoch
    assert panel.best_value == pytest.approx(best_value)


def test_best_epoch_ignores_non_finite_values() -> None:
    h = history()
    h.loc[1, "val_loss"] = -np.inf
    h.loc[2, "val_loss"] = np.nan
    h.loc[4, "val_accuracy"] = np.inf
    loss, acc = plots.curve_panels(h)
    assert (loss.best_epoch, loss.best_value) == (3, pytest.approx(0.4))
    assert (acc.best_epoch, acc.best_value) == (5, pytest.approx(0.78))


def test_best_epoch_is_none_without_finite_validation() -> None:
    h = history()
    h["val_loss"] = np.nan
    loss = plots.curve_panels(h)[0]
    assert loss.best_epoch is None and loss.best_value is None


def test_history_without_validation_columns() -> None:
    panels = plots.curve_panels(history(val=False))
    assert [p.metric for p in panels] == ["loss", "accuracy"]
    assert all([ln.split for ln in p.lines] == [TRAIN] for p in panels)
    assert all(p.best_epoch is None for p in panels)


@pytest.mark.parametrize(
    ("lr", "has_panel", "log_y"),
    [
        pytest.param([1e-3] * 6, False, False, id="constant"),
        pytest.param([1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4], True, False, id="step_one_decade"),
        pytest.param([1e-1 * 0.1**k for k in range(6)], True, True, id="exponential_5_decades"),
        pytest.param([1e-3] * 5 + [np.nan], False, False, id="constant_then_nan"),
    ],
)
def test_learning_rate_panel_only_when_it_changes(
    lr: list[float], has_panel: bool, log_y: bool
) -> None:
    panels = {p.metric: p for p in plots.curve_panels(history(lr=lr))}
    assert ("learning_rate" in panels) is has_panel
    if has_panel:
        panel = panels["learning_rate"]
        assert panel.log_y is log_y
        assert panel.best_epoch is None
        np.testing.assert_allclose(panel.lines[0].values, lr)


@pytest.mark.parametrize(
    ("loss", "log_y"),
    [
        pytest.param([1.0, 0.5, 0.2, 0.1, 0.05, 0.02], False, id="under_2_decades"),
        pytest.param([10.0, 1.0, 0.1, 0.05, 0.02, 0.01], True, id="3_decades"),
        pytest.param([1.0, 1e3, 1e8, 1e20, np.inf, np.nan], True, id="diverged"),
        pytest.param([1.0, 0.1, 0.01, 0.001, 0.0, 0.0], False, id="reaches_zero"),
        pytest.param([-1.0, -10.0, -100.0, -1000.0, -1e4, -1e5], False, id="negative"),
    ],
)
def test_log_y_for_loss_spanning_decades(loss: list[float], log_y: bool) -> None:
    h = history()
    h["loss"] = loss
    h["val_loss"] = np.array(loss) * 1.01
    panels = plots.curve_panels(h)
    assert panels[0].log_y is log_y
    assert panels[1].log_y is False  # never for a metric


# ---------------------------------------------------------------------------- history reader


@pytest.mark.parametrize(
    ("tail", "epochs"),
    [
        pytest.param("", [0, 1, 2, 3], id="complete"),
        pytest.param("4,0.25,0.8", [0, 1, 2, 3], id="fewer_fields"),
        pytest.param("4,0.25,0.88,0.49,0.7", [0, 1, 2, 3], id="cut_mid_number"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,0.1", [0, 1, 2, 3], id="no_newline"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,", [0, 1, 2, 3], id="cut_after_comma"),
        pytest.param("4,0.25,0.8\n", [0, 1, 2, 3], id="short_line_with_newline"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,0.1\n", [0, 1, 2, 3, 4], id="fifth_row"),
        pytest.param("\n\n", [0, 1, 2, 3], id="blank_lines"),
    ],
)
def test_read_history_drops_a_cut_last_line(tmp_path: Path, tail: str, epochs: list[int]) -> None:
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "".join(ROWS) + tail)
    df = plots.read_history(path)
    assert df["epoch"].tolist() == epochs
    assert df["epoch"].dtype.kind == "i"
    numbers = df.drop(columns="epoch").to_numpy()
    assert numbers.dtype == np.float64
    assert np.isfinite(numbers).all()  # no NaN row added
    assert df["val_accuracy"].tolist()[:4] == [0.48, 0.66, 0.74, 0.72]


def test_read_history_reads_crlf_rows_as_csv_writer_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    text = (HEADER + "".join(ROWS)).replace("\n", "\r\n")
    path.write_bytes((text + "4,0.25,0.88,0.49,0.70,0.01,0.1").encode())
    df = plots.read_history(path)
    assert df["epoch"].tolist() == [0, 1, 2, 3]
    assert df["epoch_seconds"].tolist() == [0.0, 0.1, 0.1, 0.1]


def test_read_history_keeps_nan_and_inf(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(HEADER + ROWS[0] + "1,nan,0.5,inf,0.5,0.01,0.1\n2,inf,nan,-inf,nan,0.01,0.1\n")
    df = plots.read_history(path)
    assert len(df) == 3
    assert np.isnan(df.loc[1, "loss"]) and df.loc[1, "val_loss"] == np.inf
    assert df.loc[2, "loss"] == np.inf and df.loc[2, "val_loss"] == -np.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "no history"),
        pytest.param("", "no complete row"),
        pytest.param(HEADER, "no complete row"),
        pytest.param(HEADER + "0,0.7,0.5", "no complete row"),
        pytest.param(HEADER[:20], "no complete row"),
    ],
)
def test_read_history_errors_name_the_file(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "history.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(NnlabError) as info:
        plots.read_history(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


# ---------------------------------------------------------------------------- boundary data


@pytest.mark.parametrize(
    ("nx", "ny", "classes", "shuffle"),
    [
        pytest.param(7, 5, 2, False, id="binary_7x5_sorted"),
        pytest.param(4, 9, 2, True, id="binary_4x9_shuffled"),
        pytest.param(6, 6, 3, True, id="three_classes"),
    ],
)
def test_boundary_data_rebuilds_the_lattice(nx: int, ny: int, classes: int, shuffle: bool) -> None:
    df, xs, ys, value = boundary_frame(nx, ny, classes, shuffle)
    data = plots.boundary_data(df)
    assert data.z.shape == (ny, nx)
    np.testing.assert_allclose(data.xs, xs)
    np.testing.assert_allclose(data.ys, ys)
    np.testing.assert_allclose(data.z, value)  # z[i, j] is at (xs[j], ys[i])
    assert data.binary is (classes == 2)
    assert data.n_classes == classes
    assert sorted(data.points) == ["train", "val"]
    assert len(data.points["train"].x1) == 8 and len(data.points["val"].x1) == 3
    assert sorted(data.points["train"].labels.tolist()) == sorted(k % classes for k in range(8))


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        pytest.param(["train", "val", "train"], "boundary data: no grid rows", id="no_grid"),
        pytest.param(
            ["grid", "grid", "grid"], "boundary data: the grid must be at least 2x2, got 3x1",
            id="one_row",
        ),
    ],
)  # fmt: skip
def test_boundary_data_errors(kinds: list[str], message: str) -> None:
    df = pd.DataFrame({"kind": kinds, "x1": [0.0, 1.0, 2.0], "x2": 0.0, "value": [1, 0, 1]})
    with pytest.raises(NnlabError) as info:
        plots.boundary_data(df)
    assert str(info.value) == message


def test_read_boundary_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "boundary.csv"
    path.write_text("kind,x1,x2,value\ntrain,0,0,1\n")
    with pytest.raises(NnlabError) as info:
        plots.read_boundary(path)
    assert str(info.value) == f"{path}: boundary data: no grid rows"


# ---------------------------------------------------------------------------- drawing


def png_size(path: Path) -> int:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path.stat().st_size


def test_plot_run_writes_learning_curves_and_boundary(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "lr=0.01_seed=0_abc123",
        history(lr=[1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4]),
        result={"status": "completed", "run_id": "lr=0.01_seed=0_abc123"},
        boundary=boundary_frame()[0],
    )
    written = plots.plot_run(run)
    assert written == [
        run / "plots" / "learning_curves.png",
        run / "plots" / "decision_boundary.png",
    ]
    assert all(png_size(p) > 5_000 for p in written)
    assert sorted(p.name for p in (run / "plots").iterdir()) == [
        "decision_boundary.png",
        "learning_curves.png",
    ]  # no temporary file left behind


def test_plots_of_an_older_drawing_are_removed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history(), result={"status": "completed", "run_id": "r"})
    (run / "plots").mkdir()
    (run / "plots" / "decision_boundary.png").write_bytes(b"old")  # no boundary.csv now
    (run / "plots" / "notes.txt").write_text("mine")
    assert plots.plot_run(run) == [run / "plots" / "learning_curves.png"]
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["learning_curves.png", "notes.txt"]


def test_plot_run_without_boundary_or_result_leaves_no_open_figure(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    run = write_run(tmp_path / "run", HEADER + "".join(ROWS) + "4,0.2")
    before = plt.get_fignums()
    assert plots.plot_run(run) == [run / "plots" / "learning_curves.png"]
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    "hist",
    [
        pytest.param(
            HEADER
            + ROWS[0]
            + "1,1e30,0.5,1e35,0.5,0.01,0.1\n2,-inf,0.5,inf,0.5,0.01,0.1\n"
            + "3,nan,nan,nan,nan,0.01,0.1\n",
            id="diverged_huge_inf_nan",
        ),
        pytest.param(HEADER + "0,nan,nan,nan,nan,nan,nan\n", id="all_nan_one_row"),
        pytest.param(HEADER + ROWS[0], id="epoch_0_only"),
    ],
)
def test_plot_run_survives_degenerate_histories(tmp_path: Path, hist: str) -> None:
    run = write_run(
        tmp_path / "run", hist, result={"status": "diverged", "diverged_epoch": 1, "run_id": "x"}
    )
    assert [png_size(p) > 0 for p in plots.plot_run(run)] == [True]


def test_plot_run_multiclass_boundary(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history(), boundary=boundary_frame(classes=3)[0])
    written = plots.plot_run(run)
    assert [p.name for p in written] == ["learning_curves.png", "decision_boundary.png"]
    assert png_size(written[1]) > 5_000


@pytest.mark.parametrize(
    ("result", "title"),
    [
        pytest.param({"status": "completed", "run_id": "a_1"}, "a_1", id="completed"),
        pytest.param(
            {"status": "diverged", "diverged_epoch": 7}, "run (diverged at epoch 7)", id="diverged"
        ),
        pytest.param({"status": "interrupted"}, "run (interrupted)", id="interrupted"),
        pytest.param(None, "run (unfinished: no result.json)", id="no_result"),
    ],
)
def test_run_title(tmp_path: Path, result: dict[str, object] | None, title: str) -> None:
    assert plots._run_title(tmp_path / "run", result) == title


def test_plot_dir_on_a_run_directory(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history())
    assert plots.plot_dir(run) == [run / "plots" / "learning_curves.png"]


def test_plot_dir_on_an_experiment_plots_every_run(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "experiment.yaml").write_text("name: exp\n")
    names = ["bs=1_seed=0_aaa", "bs=full_seed=0_ccc"]
    for name in names:
        write_run(exp / name, history(), result={"status": "completed", "run_id": name})
    # a run that failed while building its model: result.json only, nothing to plot
    failed = exp / "bs=64_seed=0_ddd"
    failed.mkdir()
    (failed / store.RESULT_FILE).write_text(json.dumps({"status": "failed"}))
    (exp / "notes").mkdir()  # not a run

    written = plots.plot_dir(exp)
    assert written == [
        *(exp / n / "plots" / "learning_curves.png" for n in names),
        exp / "plots" / "curves_loss.png",  # no summary.csv: compared as one group of runs
        exp / "plots" / "curves_accuracy.png",
    ]
    assert all(png_size(p) > 0 for p in written)
    assert not (failed / "plots").exists()


@pytest.mark.parametrize("make", ["empty", "missing", "only_files"])
def test_plot_dir_on_something_else_is_an_error(tmp_path: Path, make: str) -> None:
    path = tmp_path / "somewhere"
    if make != "missing":
        path.mkdir()
    if make == "only_files":
        (path / "notes.txt").write_text("hello")
        (path / "sub").mkdir()
    with pytest.raises(NnlabError) as info:
        plots.plot_dir(path)
    assert str(info.value) == f"{path}: not a run or experiment directory (no history.csv found)"


def test_plotting_imports_no_backend(tmp_path: Path) -> None:
    run = write_run(tmp_path / "exp" / "run", history(2))
    code = f"""
import sys
import nnlab.plots
assert "matplotlib" not in sys.modules, "matplotlib imported at module import"
written = nnlab.plots.plot_dir({str(run.parent)!r})
names = [p.name for p in written]
assert names == ["learning_curves.png", "curves_loss.png", "curves_accuracy.png"], names
heavy = sorted({{"tensorflow", "keras", "jax", "torch"}} & set(sys.modules))
assert not heavy, heavy
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# ---------------------------------------------------------------------------- comparison data

AXIS_BS, AXIS_LR = "train.batch_size", "train.learning_rate"


def summary(rows: list[dict[str, object]]) -> pd.DataFrame:
    """A summary frame as read from summary.csv: axis values as text, metrics as numbers."""
    return pd.DataFrame(rows)


def curve(values: list[float], start: int = 0) -> pd.DataFrame:
    """A history whose loss and val_loss are ``values`` (val_loss doubled), from ``start``."""
    v = np.array(values, dtype=float)
    return pd.DataFrame({"epoch": np.arange(start, start + len(v)), "loss": v, "val_loss": 2 * v})


@pytest.mark.parametrize(
    ("columns", "axes"),
    [
        pytest.param(
            ["run_id", AXIS_BS, AXIS_LR, "seed", "status", "final_loss", "best_loss"],
            [AXIS_BS, AXIS_LR],
            id="two_dotted",
        ),
        pytest.param(
            ["run_id", "variant", "seed", "status", "best_val_accuracy", "diagnosis"],
            ["variant"],
            id="variant",
        ),
        pytest.param(
            ["run_id", "model.activation", "variant", "seed", "best_epoch", "wall_s"],
            ["model.activation", "variant"],
            id="dotted_and_variant",
        ),
        pytest.param(["run_id", "seed", "status", "final_loss", "wall_s"], [], id="no_sweep"),
    ],
)
def test_sweep_axes(columns: list[str], axes: list[str]) -> None:
    assert plots.sweep_axes(pd.DataFrame(columns=columns)) == axes


@pytest.mark.parametrize(
    ("rows", "labels"),
    [
        pytest.param(
            [{AXIS_BS: "100"}, {AXIS_BS: "10"}, {AXIS_BS: "100"}],
            ["batch_size=100", "batch_size=10"],
            id="one_axis_first_appearance",
        ),
        pytest.param(
            [{AXIS_BS: "32", AXIS_LR: "0.1"}, {AXIS_BS: "32", AXIS_LR: "1e-05"}],
            ["batch_size=32, learning_rate=0.1", "batch_size=32, learning_rate=1e-05"],
            id="two_axes_as_written",
        ),
        pytest.param(
            [{"variant": "batch-norm"}, {"variant": "plain"}],
            ["batch-norm", "plain"],
            id="variant_alone",
        ),
        pytest.param(
            [{"variant": "bn", "model.activation": "relu"}],
            ["bn, activation=relu"],
            id="variant_and_axis",
        ),
        pytest.param(
            [{"model.init": "he", "train.init": "x"}],
            ["model.init=he, train.init=x"],
            id="same_last_part_keeps_path",
        ),
        pytest.param([{}, {}], ["all runs"], id="no_axes"),
    ],
)
def test_group_labels(rows: list[dict[str, str]], labels: list[str]) -> None:
    rows = [{"run_id": f"r{i}", **r, "seed": i, "status": "completed"} for i, r in enumerate(rows)]
    histories = {f"r{i}": curve([1.0, 0.5]) for i in range(len(rows))}
    groups = plots.group_curves(summary(rows), histories, "loss")
    assert [g.label for g in groups] == labels
    assert [g.color for g in groups] == list(range(len(labels)))


def test_group_means_and_stds_over_repeats_of_different_lengths() -> None:
    # a: three seeds, one stopped early after epoch 1, one diverged at epoch 2;
    # b: a single run; c: only a failed run (no group, but it keeps its colour slot)
    rows = [
        {"run_id": "a0", AXIS_BS: "8", "seed": 0, "status": "completed"},
        {"run_id": "b0", AXIS_BS: "64", "seed": 0, "status": "completed"},
        {"run_id": "a1", AXIS_BS: "8", "seed": 1, "status": "completed"},
        {"run_id": "c0", AXIS_BS: "full", "seed": 0, "status": "failed"},
        {"run_id": "a2", AXIS_BS: "8", "seed": 2, "status": "diverged"},
        {"run_id": "d0", AXIS_BS: "128", "seed": 0, "status": "completed"},
    ]
    histories = {
        "a0": curve([1.0, 0.6, 0.4, 0.2]),
        "a1": curve([3.0, 1.0]),
        "a2": curve([2.0, 0.8, np.nan, np.inf]),
        "b0": curve([0.9, 0.7, 0.5]),
        "c0": curve([5.0, 5.0]),  # failed: left out even with a history
        # d0 wrote no history
    }
    groups = plots.group_curves(summary(rows), histories, "loss")
    assert [(g.label, g.color, g.run_ids, g.n_runs) for g in groups] == [
        ("batch_size=8", 0, ["a0", "a1", "a2"], 3),
        ("batch_size=64", 1, ["b0"], 1),
    ]
    a, b = groups
    np.testing.assert_array_equal(a.train.epochs, [0, 1, 2, 3])
    np.testing.assert_array_equal(a.train.n, [3, 3, 1, 1])
    np.testing.assert_allclose(a.train.mean, [2.0, 0.8, 0.4, 0.2])
    # sample std (ddof=1): epoch 0 of 1, 3, 2 -> 1.0; epoch 1 of 0.6, 1.0, 0.8 -> 0.2
    np.testing.assert_allclose(a.train.std, [1.0, 0.2, 0.0, 0.0])
    np.testing.assert_allclose(a.validation.mean, [4.0, 1.6, 0.8, 0.4])
    np.testing.assert_allclose(a.validation.std, [2.0, 0.4, 0.0, 0.0])
    np.testing.assert_allclose(b.train.mean, [0.9, 0.7, 0.5])
    np.testing.assert_array_equal(b.train.std, [0.0, 0.0, 0.0])


def test_group_curve_of_a_metric_without_validation_and_a_late_start() -> None:
    rows = [{"run_id": f"r{i}", "seed": i, "status": "completed"} for i in range(2)]
    h0 = curve([0.5, 0.7, 0.9]).rename(columns={"loss": "accuracy"}).drop(columns="val_loss")
    h1 = curve([0.7, 1.1], start=1).rename(columns={"loss": "accuracy"}).drop(columns="val_loss")
    (group,) = plots.group_curves(summary(rows), {"r0": h0, "r1": h1}, "accuracy")
    assert group.validation is None
    np.testing.assert_array_equal(group.train.epochs, [0, 1, 2])
    np.testing.assert_allclose(group.train.mean, [0.5, 0.7, 1.0])
    np.testing.assert_allclose(group.train.std, [0.0, 0.0, np.sqrt(0.02)])
    assert plots.group_curves(summary(rows), {"r0": h0, "r1": h1}, "auc") == []


@pytest.mark.parametrize(
    ("columns", "metrics"),
    [
        pytest.param(
            [["epoch", "accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"]],
            ["loss", "accuracy"],
            id="loss_first",
        ),
        pytest.param(
            [["epoch", "loss", "epoch_seconds"], ["epoch", "loss", "val_loss", "val_auc"]],
            ["loss", "auc"],
            id="union_of_runs",
        ),
    ],
)
def test_curve_metrics(columns: list[list[str]], metrics: list[str]) -> None:
    assert plots.curve_metrics([pd.DataFrame(columns=c) for c in columns]) == metrics


LR_ROWS = [
    {"run_id": "a", AXIS_LR: "0.1", "status": "completed", "best_val_accuracy": 0.6},
    {"run_id": "b", AXIS_LR: "1e-05", "status": "completed", "best_val_accuracy": 0.5},
    {"run_id": "c", AXIS_LR: "0.1", "status": "diverged", "best_val_accuracy": 0.8},
    {"run_id": "d", AXIS_LR: "0.001", "status": "completed", "best_val_accuracy": np.nan},
    {"run_id": "e", AXIS_LR: "0.001", "status": "failed", "best_val_accuracy": 0.99},
    {"run_id": "f", AXIS_LR: "10", "status": "failed", "best_val_accuracy": np.nan},
]


def test_metric_vs_value_numeric_log_axis() -> None:
    s = plots.metric_vs_value(summary(LR_ROWS), AXIS_LR, "best_val_accuracy")
    assert (s.numeric, s.log_x) == (True, True)
    assert s.labels == ["0.1", "1e-05", "0.001", "10"]
    np.testing.assert_allclose(s.x, [0.1, 1e-5, 1e-3, 10.0])
    # failed runs and empty cells are not counted; a value with no counted run stays, empty
    assert s.run_ids == ["a", "b", "c"]
    np.testing.assert_allclose(s.run_x, [0.1, 1e-5, 0.1])
    np.testing.assert_allclose(s.run_y, [0.6, 0.5, 0.8])
    np.testing.assert_array_equal(s.n, [2, 1, 0, 0])
    np.testing.assert_allclose(s.mean, [0.7, 0.5, np.nan, np.nan])
    np.testing.assert_allclose(s.std, [np.sqrt(0.02), 0.0, np.nan, np.nan])


@pytest.mark.parametrize(
    ("values", "numeric", "log_x", "x"),
    [
        pytest.param(["16", "32", "512"], True, False, [16, 32, 512], id="ratio_32_linear"),
        pytest.param(["1", "100"], True, True, [1, 100], id="ratio_100_log"),
        pytest.param(["0", "0.5", "0.9"], True, False, [0, 0.5, 0.9], id="zero_not_log"),
        pytest.param(["-1", "1e3"], True, False, [-1, 1000], id="negative_not_log"),
        pytest.param(["relu", "tanh", "relu"], False, False, [0, 1], id="words"),
        pytest.param(["32", "full", "1"], False, False, [0, 1, 2], id="number_and_word"),
        pytest.param(["true", "false"], False, False, [0, 1], id="booleans"),
    ],
)
def test_metric_vs_value_axis_kind(
    values: list[str], numeric: bool, log_x: bool, x: list[float]
) -> None:
    rows = [
        {"run_id": f"r{i}", "model.x": v, "status": "completed", "best_loss": float(i)}
        for i, v in enumerate(values)
    ]
    s = plots.metric_vs_value(summary(rows), "model.x", "best_loss")
    assert (s.numeric, s.log_x) == (numeric, log_x)
    np.testing.assert_allclose(s.x, x)
    assert s.labels == list(dict.fromkeys(values))


@pytest.mark.parametrize(
    ("pairs", "grid"),
    [
        pytest.param([("a", "1"), ("a", "2"), ("b", "1"), ("b", "2")], True, id="full_grid"),
        pytest.param([("a", "1"), ("a", "2"), ("b", "1")], True, id="grid_missing_one"),
        pytest.param([("a", "1"), ("b", "2")], False, id="zip_2"),
        pytest.param([("a", "1"), ("b", "2"), ("c", "3")], False, id="zip_3"),
    ],
)
def test_heatmap_only_when_the_two_axes_form_a_grid(
    pairs: list[tuple[str, str]], grid: bool
) -> None:
    rows = [
        {"run_id": f"r{i}", "model.a": a, "model.b": b, "status": "completed", "best_loss": 1.0}
        for i, (a, b) in enumerate(pairs)
    ]
    assert (plots.heatmap_data(summary(rows), "best_loss") is not None) is grid


@pytest.mark.parametrize(
    ("values", "label"),
    [
        pytest.param({AXIS_LR: "0.0034567891234"}, "learning_rate=0.003457", id="long_number"),
        pytest.param({AXIS_LR: "0.00001"}, "learning_rate=0.00001", id="as_written"),
        pytest.param({"model.activation": "leaky_relu_x"}, "activation=leaky_relu_x", id="word"),
    ],
)
def test_group_label_shortens_long_numbers(values: dict[str, str], label: str) -> None:
    rows = [{"run_id": "r", **values, "status": "completed"}]
    (group,) = plots.group_curves(summary(rows), {"r": curve([1.0])}, "loss")
    assert group.label == label
    assert group.values == values


def test_metric_vs_value_unknown_axis() -> None:
    with pytest.raises(NnlabError) as info:
        plots.metric_vs_value(summary(LR_ROWS), AXIS_BS, "best_val_accuracy")
    assert (
        str(info.value)
        == "summary: no swept column 'train.batch_size'; swept: ['train.learning_rate']"
    )


def test_heatmap_cells_are_means_over_repeats() -> None:
    rows = [
        (AXIS_BS, "full", "0.1", 0.70, "completed"),
        (AXIS_BS, "full", "0.1", 0.80, "completed"),
        (AXIS_BS, "full", "0.01", 0.60, "completed"),
        (AXIS_BS, "32", "0.1", 0.90, "diverged"),
        (AXIS_BS, "32", "0.01", 0.10, "failed"),
        (AXIS_BS, "32", "0.1", np.nan, "interrupted"),
    ]
    df = summary(
        [
            {"run_id": f"r{i}", AXIS_BS: bs, AXIS_LR: lr, "status": st, "best_val_accuracy": y}
            for i, (_, bs, lr, y, st) in enumerate(rows)
        ]
    )
    heat = plots.heatmap_data(df, "best_val_accuracy")
    assert (heat.row_axis, heat.col_axis) == (AXIS_BS, AXIS_LR)
    assert (heat.row_labels, heat.col_labels) == (["full", "32"], ["0.1", "0.01"])
    np.testing.assert_allclose(heat.values, [[0.75, 0.60], [0.90, np.nan]])
    np.testing.assert_array_equal(heat.n, [[2, 1], [1, 0]])


@pytest.mark.parametrize(
    "axes",
    [
        pytest.param([AXIS_BS], id="one_axis"),
        pytest.param([AXIS_BS, AXIS_LR, "model.activation"], id="three_axes"),
        pytest.param([], id="no_axes"),
    ],
)
def test_heatmap_only_for_two_axes(axes: list[str]) -> None:
    df = summary([{"run_id": "r", **dict.fromkeys(axes, "1"), "best_loss": 0.5}])
    assert plots.heatmap_data(df, "best_loss") is None


@pytest.mark.parametrize(
    ("columns", "target"),
    [
        pytest.param(
            ["best_loss", "best_val_loss", "best_val_auc", "best_val_accuracy"],
            "best_val_accuracy",
            id="val_accuracy_first",
        ),
        pytest.param(
            ["best_loss", "best_val_loss", "best_val_mae", "best_val_auc", "best_val_precision"],
            "best_val_auc",
            id="first_maximized_val",
        ),
        pytest.param(
            ["best_loss", "best_val_mae", "best_val_loss"], "best_val_loss", id="val_loss"
        ),
        pytest.param(["best_accuracy", "best_loss", "final_loss"], "best_loss", id="no_validation"),
        pytest.param(["run_id", "final_loss"], None, id="none"),
    ],
)
def test_target_column(columns: list[str], target: str | None) -> None:
    assert plots.target_column(pd.DataFrame(columns=["run_id", *columns])) == target


def test_read_summary_keeps_swept_values_as_written(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text(
        "run_id,train.learning_rate,variant,seed,status,final_loss,best_epoch,diagnosis\n"
        "a,1e-05,batch-norm,0,completed,0.25,3,ok\n"
        "b,0.0010,plain,1,failed,,,out of memory\n"
    )
    df = plots.read_summary(path)
    assert df["train.learning_rate"].tolist() == ["1e-05", "0.0010"]
    assert df["variant"].tolist() == ["batch-norm", "plain"]
    assert df["diagnosis"].tolist() == ["ok", "out of memory"]
    assert df["seed"].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(df["final_loss"], [0.25, np.nan])


# ---------------------------------------------------------------------------- comparison drawing

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def fake_history(bs: float, lr: float, seed: int, epochs: int = 12) -> pd.DataFrame:
    """Plausible curves: larger learning rates learn faster, small batches overfit more."""
    rng = np.random.default_rng(seed)
    t = np.arange(epochs)
    speed = 0.15 + 3.0 * lr + 0.04 * np.log2(256 / bs)
    loss = 0.7 * np.exp(-speed * t) + 0.15 + rng.normal(0, 0.01, epochs)
    overfit = 0.004 * (64 / bs) * np.maximum(t - 4, 0) ** 1.5
    val_loss = loss + 0.05 + overfit + rng.normal(0, 0.015, epochs)
    return pd.DataFrame(
        {
            "epoch": t,
            "loss": loss,
            "accuracy": 1.0 - 0.6 * loss,
            "val_loss": val_loss,
            "val_accuracy": 1.0 - 0.6 * val_loss,
            "learning_rate": lr,
            "epoch_seconds": 0.1,
        }
    )


def write_experiment(
    root: Path, points: list[dict[str, str]], repeats: int, summary_file: bool = True
) -> tuple[Path, list[str]]:
    """Run folders (history.csv + result.json) and a summary.csv, as the sweep writes them."""
    exp = root / "pima-batch-size"
    exp.mkdir(parents=True)
    (exp / "experiment.yaml").write_text("name: pima-batch-size\n")
    rows = []
    for point in points:
        for seed in range(repeats):
            words = "_".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items())
            run_id = f"{words}_seed={seed}_{abs(hash(words)) % 4096:03x}"
            bs = float(point.get(AXIS_BS, 64))
            lr = float(point.get(AXIS_LR, 0.01))
            hist = fake_history(bs, lr, seed)
            final = {m: float(hist[m].iloc[-1]) for m in METRICS}
            best = {m: float(hist[m].max() if "acc" in m else hist[m].min()) for m in METRICS}
            result = {"run_id": run_id, "status": "completed", "final": final, "best": best}
            write_run(exp / run_id, hist, result=result)
            row = {"run_id": run_id, **point, "seed": seed, "status": "completed"}
            row |= {f"final_{m}": v for m, v in final.items()}
            row |= {f"best_{m}": v for m, v in best.items()}
            rows.append(row | {"best_epoch": 3, "wall_s": 1.5, "diagnosis": ""})
    if summary_file:
        pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    return exp, [r["run_id"] for r in rows]


GRID_2X2 = [
    {AXIS_BS: bs, AXIS_LR: lr} for bs in ("16", "256") for lr in ("0.01", "0.1")
]  # fmt: skip
CURVES = ["curves_loss.png", "curves_accuracy.png"]


def test_plot_experiment_of_a_2x2_grid_with_repeats(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, GRID_2X2, repeats=2)
    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [
        *CURVES,
        "best_val_accuracy_vs_batch_size.png",
        "best_val_accuracy_vs_learning_rate.png",
        "heatmap_best_val_accuracy.png",
    ]
    assert all(p.parent == exp / "plots" and png_size(p) > 10_000 for p in written)
    assert sorted(p.name for p in (exp / "plots").iterdir()) == sorted(p.name for p in written)


def test_plot_experiment_of_a_learning_rate_sweep(tmp_path: Path) -> None:
    points = [{AXIS_LR: lr} for lr in ("1e-05", "0.001", "0.1")]
    exp, run_ids = write_experiment(tmp_path, points, repeats=1)
    # an older run of another config: a folder, but not in summary.csv
    write_run(exp / "learning_rate=3_seed=0_old", fake_history(64, 3.0, 0))
    summary_df = plots.read_summary(exp / store.SUMMARY_FILE)
    series = plots.metric_vs_value(summary_df, AXIS_LR, "best_val_accuracy")
    assert series.log_x is True
    histories = plots.read_histories(exp, summary_df)
    assert sorted(histories) == sorted(run_ids)
    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]


def test_plot_experiment_survives_a_failed_run_without_history(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, [{AXIS_BS: "16"}, {AXIS_BS: "256"}], repeats=1)
    failed = exp / "batch_size=full_seed=0_f00"
    failed.mkdir()
    (failed / store.RESULT_FILE).write_text(json.dumps({"status": "failed", "error": "OOM"}))
    df = pd.read_csv(exp / store.SUMMARY_FILE, dtype=str, keep_default_na=False)
    row = dict.fromkeys(df.columns, "") | {
        "run_id": failed.name, AXIS_BS: "full", "seed": "0", "status": "failed"
    }  # fmt: skip
    pd.concat([df, pd.DataFrame([row])]).to_csv(exp / store.SUMMARY_FILE, index=False)

    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_batch_size.png"]
    series = plots.metric_vs_value(plots.read_summary(exp / "summary.csv"), AXIS_BS, "best_loss")
    assert series.labels == ["16", "256", "full"] and series.n.tolist() == [1, 1, 0]


def test_plot_experiment_without_summary_uses_result_json(tmp_path: Path) -> None:
    exp, run_ids = write_experiment(tmp_path, [{}], repeats=3, summary_file=False)
    df = plots.experiment_summary(exp)
    assert plots.sweep_axes(df) == []
    assert df["run_id"].tolist() == sorted(run_ids)
    assert df["status"].tolist() == ["completed"] * 3
    assert np.isfinite(df["best_val_accuracy"]).all()
    (group,) = plots.group_curves(df, plots.read_histories(exp, df), "loss")
    assert (group.label, group.n_runs) == ("all runs", 3)
    assert [p.name for p in plots.plot_experiment(exp)] == CURVES


def test_plot_experiment_with_nothing_to_compare(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / store.SUMMARY_FILE).write_text("run_id,train.batch_size,seed,status,final_loss\n")
    assert plots.plot_experiment(exp) == []
    (exp / store.SUMMARY_FILE).write_text("run_id,seed,status,best_loss\nr,0,failed,\n")
    assert plots.plot_experiment(exp) == []


def test_value_ticks_only_where_their_labels_fit() -> None:
    assert plots._ticks_fit(np.array([1e-4, 1e-3, 1e-2]), log=True)
    assert plots._ticks_fit(np.array([16.0, 32.0, 64.0, 128.0]), log=False)
    # random-search draws: 0.00417 and 0.00481 would print on top of each other
    drawn = np.array([0.00109, 0.00163, 0.00417, 0.00481, 0.0111, 0.108, 0.137, 0.239])
    assert not plots._ticks_fit(drawn, log=True)
