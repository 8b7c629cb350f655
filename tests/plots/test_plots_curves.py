"""One run's plot data (``nnlab.plots.curves``), tested as numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plot_builders import boundary_frame, history

from nnlab.errors import NnlabError
from nnlab.plots import TRAIN, VALIDATION, curves

# ---------------------------------------------------------------------------- curve panels


def test_panels_pair_metrics_with_validation_and_style_splits() -> None:
    panels = curves.curve_panels(history())
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
    assert [p.metric for p in curves.curve_panels(h)] == ["loss", "accuracy"]


@pytest.mark.parametrize(
    ("metric", "best_epoch", "best_value"),
    [
        pytest.param("loss", 3, 0.4, id="loss_min"),
        pytest.param("accuracy", 4, 0.8, id="accuracy_max"),
    ],
)
def test_best_epoch_of_validation_line(metric: str, best_epoch: int, best_value: float) -> None:
    panel = next(p for p in curves.curve_panels(history()) if p.metric == metric)
    assert panel.best_epoch == best_epoch
    assert panel.best_value == pytest.approx(best_value)


def test_best_epoch_ignores_non_finite_values() -> None:
    h = history()
    h.loc[1, "val_loss"] = -np.inf
    h.loc[2, "val_loss"] = np.nan
    h.loc[4, "val_accuracy"] = np.inf
    loss, acc = curves.curve_panels(h)
    assert (loss.best_epoch, loss.best_value) == (3, pytest.approx(0.4))
    assert (acc.best_epoch, acc.best_value) == (5, pytest.approx(0.78))


def test_best_epoch_is_none_without_finite_validation() -> None:
    h = history()
    h["val_loss"] = np.nan
    loss = curves.curve_panels(h)[0]
    assert loss.best_epoch is None and loss.best_value is None


def test_history_without_validation_columns() -> None:
    panels = curves.curve_panels(history(val=False))
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
    panels = {p.metric: p for p in curves.curve_panels(history(lr=lr))}
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
    panels = curves.curve_panels(h)
    assert panels[0].log_y is log_y
    assert panels[1].log_y is False  # never for a metric


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
    data = curves.boundary_data(df)
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
        curves.boundary_data(df)
    assert str(info.value) == message


def test_read_boundary_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "boundary.csv"
    path.write_text("kind,x1,x2,value\ntrain,0,0,1\n")
    with pytest.raises(NnlabError) as info:
        curves.read_boundary(path)
    assert str(info.value) == f"{path}: boundary data: no grid rows"
