"""Cross-run plot data (``nnlab.plots.comparison``), tested as numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plot_builders import AXIS_BS, AXIS_LR

from nnlab.errors import NnlabError
from nnlab.plots import comparison


def summary(rows: list[dict[str, object]]) -> pd.DataFrame:
    """A summary frame as read from summary.csv: axis values as text, metrics as numbers."""
    return pd.DataFrame(rows)


def curve(values: list[float], start: int = 0) -> pd.DataFrame:
    """A history whose loss and val_loss are ``values`` (val_loss doubled), from ``start``."""
    v = np.array(values, dtype=float)
    return pd.DataFrame({"epoch": np.arange(start, start + len(v)), "loss": v, "val_loss": 2 * v})


# ---------------------------------------------------------------------------- group curves


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
    groups = comparison.group_curves(summary(rows), histories, "loss")
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
    groups = comparison.group_curves(summary(rows), histories, "loss")
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
    (group,) = comparison.group_curves(summary(rows), {"r0": h0, "r1": h1}, "accuracy")
    assert group.validation is None
    np.testing.assert_array_equal(group.train.epochs, [0, 1, 2])
    np.testing.assert_allclose(group.train.mean, [0.5, 0.7, 1.0])
    np.testing.assert_allclose(group.train.std, [0.0, 0.0, np.sqrt(0.02)])
    assert comparison.group_curves(summary(rows), {"r0": h0, "r1": h1}, "auc") == []


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
    assert comparison.curve_metrics([pd.DataFrame(columns=c) for c in columns]) == metrics


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
    (group,) = comparison.group_curves(summary(rows), {"r": curve([1.0])}, "loss")
    assert group.label == label
    assert group.values == values


# ---------------------------------------------------------------------------- metric vs value


LR_ROWS = [
    {"run_id": "a", AXIS_LR: "0.1", "status": "completed", "best_val_accuracy": 0.6},
    {"run_id": "b", AXIS_LR: "1e-05", "status": "completed", "best_val_accuracy": 0.5},
    {"run_id": "c", AXIS_LR: "0.1", "status": "diverged", "best_val_accuracy": 0.8},
    {"run_id": "d", AXIS_LR: "0.001", "status": "completed", "best_val_accuracy": np.nan},
    {"run_id": "e", AXIS_LR: "0.001", "status": "failed", "best_val_accuracy": 0.99},
    {"run_id": "f", AXIS_LR: "10", "status": "failed", "best_val_accuracy": np.nan},
]


def test_metric_vs_value_numeric_log_axis() -> None:
    s = comparison.metric_vs_value(summary(LR_ROWS), AXIS_LR, "best_val_accuracy")
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
    s = comparison.metric_vs_value(summary(rows), "model.x", "best_loss")
    assert (s.numeric, s.log_x) == (numeric, log_x)
    np.testing.assert_allclose(s.x, x)
    assert s.labels == list(dict.fromkeys(values))


def test_metric_vs_value_unknown_axis() -> None:
    with pytest.raises(NnlabError) as info:
        comparison.metric_vs_value(summary(LR_ROWS), AXIS_BS, "best_val_accuracy")
    assert (
        str(info.value)
        == "summary: no swept column 'train.batch_size'; swept: ['train.learning_rate']"
    )


# ---------------------------------------------------------------------------- heat map


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
    assert (comparison.heatmap_data(summary(rows), "best_loss") is not None) is grid


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
    heat = comparison.heatmap_data(df, "best_val_accuracy")
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
    assert comparison.heatmap_data(df, "best_loss") is None


# ---------------------------------------------------------------------------- many settings


def score(k: int) -> float:
    """The best_val_accuracy of setting k: 0.50 to 0.79 in a shuffled order (7 and 30 are
    coprime), the two seeds 0.001 apart."""
    return 0.5 + 0.01 * ((7 * k) % 30)


def many_settings() -> pd.DataFrame:
    """30 learning rates x 2 seeds, and a 31st setting whose runs both failed."""
    rows = []
    for k in range(31):
        for seed in (0, 1):
            failed = k == 30
            rows.append({
                "run_id": f"lr{k}_s{seed}", AXIS_LR: str(k), "seed": seed,
                "status": "failed" if failed else "completed",
                "best_val_accuracy": np.nan if failed else score(k) + (seed - 0.5) * 0.001,
                "best_val_loss": np.nan if failed else 1 - score(k),
            })  # fmt: skip
    return summary(rows)


def test_shown_groups_of_many_settings_are_the_best_and_the_worst() -> None:
    shown = comparison.shown_groups(many_settings())
    ranked = sorted(range(30), key=lambda k: -score(k))
    assert ranked[:3] == [17, 4, 21] and ranked[-1] == 0
    assert [g.label for g in shown.groups] == [
        f"learning_rate={k}" for k in ranked[:10] + ranked[-5:]
    ]
    assert shown.ranks == [*range(1, 11), *range(26, 31)]
    assert shown.scores == pytest.approx(
        [0.79, 0.78, 0.77, 0.76, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70,
         0.54, 0.53, 0.52, 0.51, 0.50]
    )  # fmt: skip
    assert (shown.total, shown.n_best, shown.n_worst, shown.limited) == (31, 10, 5, True)
    assert shown.note() == "15 of 31 settings shown: the 10 best and 5 worst by best_val_accuracy"
    assert shown.label(0) == "#1 learning_rate=17: 0.79"
    assert shown.label(14) == "#30 learning_rate=0: 0.5"


def test_shown_groups_by_a_loss_are_the_lowest_first() -> None:
    shown = comparison.shown_groups(many_settings(), "best_val_loss")
    assert shown.scores[:2] == pytest.approx([0.21, 0.22])
    assert shown.scores[-1] == pytest.approx(0.5)
    assert shown.note() == "15 of 31 settings shown: the 10 best and 5 worst by best_val_loss"


def test_shown_groups_of_few_settings_are_all_of_them() -> None:
    df = many_settings().iloc[: 2 * comparison.CURVE_GROUPS_MAX]
    shown = comparison.shown_groups(df)
    assert [g.label for g in shown.groups] == [f"learning_rate={k}" for k in range(20)]
    assert (shown.limited, shown.note(), shown.label(3)) == (False, None, "learning_rate=3")


def test_group_curves_of_the_shown_groups() -> None:
    df = many_settings()
    shown = comparison.shown_groups(df)
    histories = {rid: curve([1.0, 0.5]) for rid in df["run_id"]}
    groups = comparison.group_curves(df, histories, "loss", shown)
    assert [g.color for g in groups] == list(range(15))  # colours by place, not by setting
    assert groups[0].label == "#1 learning_rate=17: 0.79"
    assert groups[0].run_ids == ["lr17_s0", "lr17_s1"]
    assert len(comparison.group_curves(df, histories, "loss")) == 30  # without: every group


def test_a_band_on_a_log_axis_never_reaches_down_to_zero() -> None:
    # an unstable setting: at epoch 1 the std is larger than the mean
    curve = comparison.MeanCurve(
        epochs=np.array([0, 1, 2]), mean=np.array([2.0, 1.0, 0.5]),
        std=np.array([0.5, 3.0, 0.1]), n=np.array([3, 3, 3]),
    )  # fmt: skip
    lower, upper, mirrored = curve.band(log_y=False)
    np.testing.assert_allclose(lower, [1.5, -2.0, 0.4])  # a linear axis: plain ± 1 std
    np.testing.assert_allclose(upper, [2.5, 4.0, 0.6])
    assert not mirrored
    lower, upper, mirrored = curve.band(log_y=True)
    # where mean - std > 0 nothing moves; at epoch 1 the lower edge is mean² / (mean + std):
    # 1 / 4, a factor 4 below the mean as the upper edge is a factor 4 above it
    np.testing.assert_allclose(lower, [1.5, 0.25, 0.4])
    np.testing.assert_allclose(np.log(curve.mean[1]) - np.log(lower[1]),
                               np.log(upper[1]) - np.log(curve.mean[1]))  # fmt: skip
    assert mirrored


def test_the_curves_plot_says_when_a_band_was_mirrored(tmp_path, monkeypatch) -> None:
    from nnlab.plots import draw_comparison

    titles: list[str] = []
    save = draw_comparison.save

    def keep_title(fig, target):
        titles.append(fig.axes[0].get_title())
        return save(fig, target)

    monkeypatch.setattr(draw_comparison, "save", keep_title)
    for name, std in (("calm", 0.1), ("wild", 2.0)):
        curve = comparison.MeanCurve(np.array([0, 1]), np.array([1.0, 0.5]),
                                     np.array([0.1, std]), np.array([2, 2]))  # fmt: skip
        group = comparison.GroupCurve("a", {}, 0, ["r1", "r2"], curve, None)
        draw_comparison.draw_group_curves([group], "loss", True, "t", tmp_path / f"{name}.png")
    assert "mean² / (mean + std)" not in titles[0]
    assert "mean² / (mean + std)" in titles[1]
