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
    assert written == [exp / n / "plots" / "learning_curves.png" for n in names]
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
assert len(written) == 1, written
heavy = sorted({{"tensorflow", "keras", "jax", "torch"}} & set(sys.modules))
assert not heavy, heavy
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
