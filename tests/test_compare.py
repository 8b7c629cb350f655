"""The seed-noise verdict and the no-skill baseline (compare.py)."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest
from scipy import stats

from nnlab import compare


def summary_of(groups: dict[str, list[float]], column: str = "best_val_accuracy",
               axis: str | None = "model.activation", statuses: dict | None = None
               ) -> pd.DataFrame:  # fmt: skip
    """A summary.csv-like frame: one row per value, seeds 0, 1, 2... within each group;
    ``statuses`` maps (group, seed) to a status other than completed."""
    rows = []
    for name, values in groups.items():
        for seed, value in enumerate(values):
            status = (statuses or {}).get((name, seed), "completed")
            row = {"run_id": f"{name}_seed={seed}", "seed": seed, "status": status, column: value}
            if axis is not None:
                row[axis] = name
            rows.append(row)
    return pd.DataFrame(rows)


def test_clear_win_is_larger_than_the_seed_noise():
    s = summary_of({"sigmoid": [0.88, 0.86, 0.90], "tanh": [0.96, 0.95, 0.97]})
    v = compare.seed_verdict(s)
    expected = stats.ttest_ind([0.96, 0.95, 0.97], [0.88, 0.86, 0.90], equal_var=False)
    assert v.column == "best_val_accuracy" and v.maximize
    assert [g.label for g in v.groups] == ["activation=tanh", "activation=sigmoid"]
    assert v.best.mean == pytest.approx(0.96) and v.best.std == pytest.approx(0.01)
    assert v.runner_up.std == pytest.approx(0.02) and v.best.n == v.runner_up.n == 3
    assert v.difference == pytest.approx(0.08)
    assert v.t == pytest.approx(expected.statistic) and v.p == pytest.approx(expected.pvalue)
    assert v.significant is True
    assert v.sentence == (
        "activation=tanh beats activation=sigmoid by 0.0800 best_val_accuracy "
        "(0.9600 ± 0.0100 vs 0.8800 ± 0.0200, 3 seeds each); "
        "Welch's t-test p = 0.00897 < 0.05: larger than the seed noise."
    )


def test_a_difference_within_the_noise_is_not_a_win():
    s = summary_of({"relu": [0.95, 0.90, 0.99], "tanh": [0.93, 0.91, 0.96]})
    v = compare.seed_verdict(s)
    assert v.best.label == "activation=relu" and v.significant is False
    assert v.p == pytest.approx(0.6838, abs=1e-4)
    assert v.sentence == (
        "activation=relu leads activation=tanh by 0.0133 best_val_accuracy "
        "(0.9467 ± 0.0451 vs 0.9333 ± 0.0252, 3 seeds each); Welch's t-test p = 0.684 ≥ 0.05: "
        "within the seed noise, so these runs do not tell the two apart."
    )


@pytest.mark.parametrize(
    "groups",
    [
        pytest.param({"relu": [0.99], "tanh": [0.97]}, id="one_seed_each"),
        pytest.param({"relu": [0.99], "tanh": [0.97, 0.96, 0.98]}, id="one_seed_in_the_best"),
    ],
)
def test_one_seed_cannot_tell_and_suggests_repeats(groups):
    v = compare.seed_verdict(summary_of(groups))
    assert v.significant is None and v.t is None and v.p is None
    assert v.best.label == "activation=relu" and v.difference == pytest.approx(0.02)
    assert "with one seed the seed noise is unknown" in v.sentence
    assert "run with --repeats 3 (or repeats: 3 in the config) to find out." in v.sentence


def test_zero_variance_gives_no_nan_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tie = compare.seed_verdict(summary_of({"relu": [1.0] * 3, "tanh": [1.0] * 3}))
        win = compare.seed_verdict(summary_of({"relu": [0.9] * 3, "tanh": [1.0] * 3}))
    assert tie.significant is False and (tie.t, tie.p) == (0.0, 1.0)
    assert tie.sentence == (
        "activation=relu and activation=tanh tie at 1.000 best_val_accuracy (1.000 ± 0.000 vs "
        "1.000 ± 0.000, 3 seeds each): every seed gave the same value, so there is no "
        "difference to test."
    )
    assert win.best.label == "activation=tanh" and win.significant is True
    assert win.t == math.inf and win.p == 0.0
    assert "the difference is larger than the seed noise, which is zero" in win.sentence
    # one group constant, the other not: an ordinary Welch test
    mixed = compare.seed_verdict(summary_of({"relu": [0.9] * 3, "tanh": [1.0, 0.99, 0.98]}))
    assert mixed.significant is True and math.isfinite(mixed.t)


def test_a_single_group_reports_the_seed_spread():
    v = compare.seed_verdict(summary_of({"all": [0.95, 0.97, 0.96]}, axis=None))
    assert v.runner_up is None and v.significant is None and v.best.n == 3
    assert v.sentence == (
        "all runs: best_val_accuracy 0.9600 ± 0.0100 over 3 seeds (from 0.95 to 0.97); nothing "
        "was swept, so this spread is the seed noise a comparison would have to beat."
    )
    one = compare.seed_verdict(summary_of({"all": [0.95]}, axis=None))
    assert "from a single run" in one.sentence and "--repeats 3" in one.sentence


def test_a_loss_is_minimised():
    s = summary_of({"sigmoid": [0.30, 0.28, 0.32], "relu": [0.10, 0.11, 0.12]},
                   column="best_val_loss")  # fmt: skip
    v = compare.seed_verdict(s)
    assert v.column == "best_val_loss" and not v.maximize
    assert v.best.label == "activation=relu" and v.difference == pytest.approx(0.19)
    assert v.t == pytest.approx(-14.7173, abs=1e-3) and v.significant is True
    assert v.sentence.startswith(
        "activation=relu beats activation=sigmoid by 0.1900 best_val_loss (lower is better) "
        "(0.1100 ± 0.0100 vs 0.3000 ± 0.0200, 3 seeds each); Welch's t-test p < 0.001:"
    )


def test_diverged_and_failed_runs_are_failures_not_data_points():
    s = summary_of(
        {"relu": [0.99, 0.98, 0.97, 0.10], "tanh": [0.96, float("nan"), 0.95]},
        statuses={("relu", 3): "diverged", ("tanh", 1): "failed"},
    )
    v = compare.seed_verdict(s)
    assert v.best.scores == (0.99, 0.98, 0.97) and v.best.left_out == {"diverged": 1}
    assert v.runner_up.n == 2 and v.left_out == {"diverged": 1, "failed": 1}
    assert v.sentence.endswith(
        " 2 runs left out (1 diverged, 1 failed): only completed runs count; a diverged run is "
        "a failure, not a data point."
    )
    assert "3 and 2 seeds" in v.sentence


def test_groups_are_ranked_and_empty_groups_go_last():
    s = summary_of({"a": [0.5, 0.6], "b": [0.9, 0.8], "c": [0.1], "d": [0.7, 0.7]},
                   statuses={("c", 0): "failed"})  # fmt: skip
    v = compare.seed_verdict(s)
    assert [g.values["model.activation"] for g in v.groups] == ["b", "d", "a", "c"]
    assert v.groups[-1].n == 0 and v.groups[-1].mean is None


def test_no_metric_and_no_completed_run():
    empty = compare.seed_verdict(pd.DataFrame({"run_id": ["x"], "status": ["failed"]}))
    assert empty.column is None and "No metric to rank" in empty.sentence
    failed = summary_of({"relu": [float("nan")]}, statuses={("relu", 0): "failed"})
    assert (
        "No completed run has a value of best_val_accuracy" in compare.seed_verdict(failed).sentence
    )


def test_welch_matches_scipy_and_needs_two_values():
    t, p = compare.welch([1.0, 2.0, 3.5], [2.0, 2.5, 4.0, 6.0])
    ref = stats.ttest_ind([1.0, 2.0, 3.5], [2.0, 2.5, 4.0, 6.0], equal_var=False)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue))
    with pytest.raises(ValueError, match=r"needs two values per group, but got x.size=1"):
        compare.welch([1.0], [1.0, 2.0])


def test_majority_baseline_from_results():
    b = compare.majority_baseline([{"baseline_accuracy": 0.5}, {"baseline_accuracy": 0.52},
                                   {"baseline_accuracy": None}, None, {}])  # fmt: skip
    assert b == compare.Baseline(mean=pytest.approx(0.51), low=0.5, high=0.52, n=2)
    assert compare.majority_baseline([{"baseline_accuracy": None, "task": "regression"}]) is None
