"""Parameter importance (nnlab.plots.importance): a random forest's permutation importance of
each swept axis for the target column, its correlation, the plot and the report's section."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from nnlab import plots, report, store
from nnlab.cli import app
from nnlab.plots import importance
from nnlab.report import facts

from helpers import HEADER, ROWS, TINY, merge

LR, BS, DROPOUT = "train.learning_rate", "train.batch_size", "model.dropout"
RATES = ("1e-05", "0.0001", "0.001", "0.01", "0.1")
BATCHES = ("16", "32", "64", "128")


def lr_summary(seeds: int = 2, column: str = "best_val_accuracy", noise: float = 1e-3):
    """5 learning rates x 4 batch sizes x ``seeds``: the metric rises with log10 of the rate
    (falls, for a loss) plus tiny noise; the batch size plays no part."""
    rng = np.random.default_rng(7)
    rows = []
    for lr in RATES:
        for bs in BATCHES:
            for seed in range(seeds):
                good = 0.5 + 0.1 * (math.log10(float(lr)) + 5) + rng.normal(0, noise)
                value = good if column.endswith("accuracy") else 1.5 - good
                rows.append({"run_id": f"lr={lr}_bs={bs}_seed={seed}", LR: lr, BS: bs,
                             "seed": str(seed), "status": "completed", column: value})  # fmt: skip
    return pd.DataFrame(rows)


def by_name(data: importance.Importance) -> dict[str, importance.AxisImportance]:
    return {a.name: a for a in data.axes}


def test_the_axis_that_decides_the_metric_is_far_more_important():
    data = importance.importance_data(lr_summary())
    assert data is not None and data.enough and data.column == "best_val_accuracy"
    assert (data.n_completed, data.n_diverged, data.n_fitted) == (40, 0, 40)
    assert [a.name for a in data.axes] == ["learning_rate", "batch_size"]
    lr, bs = by_name(data)["learning_rate"], by_name(data)["batch_size"]
    assert lr.importance > 1.0  # shuffling the rate wrecks the fit (R² drops by > 1)
    assert bs.importance < 0.01
    assert lr.importance > 100 * bs.importance
    assert (lr.kind, bs.kind) == (importance.LOG10, importance.NUMBER)  # 1e-5..0.1: log10
    assert lr.correlation > 0.99 and abs(bs.correlation) < 0.2
    assert data.trend(lr) == importance.BETTER and data.trend(bs) == importance.FLAT
    assert data.fit_r2 > 0.95
    assert importance.importance_data(lr_summary()) == data  # seeded: the same numbers


def test_for_a_loss_a_negative_correlation_means_larger_values_did_better():
    data = importance.importance_data(lr_summary(column="best_val_loss"))
    assert data is not None and data.column == "best_val_loss" and not data.maximize
    lr = by_name(data)["learning_rate"]
    assert lr.correlation < -0.99
    assert data.better_when_larger(lr) > 0.99 and data.trend(lr) == importance.BETTER


def test_a_category_axis_is_one_feature_without_a_correlation():
    summary = lr_summary(seeds=1)
    summary["variant"] = ["wide" if i % 2 else "narrow" for i in range(len(summary))]
    summary.loc[summary["variant"] == "wide", "best_val_accuracy"] += 0.3
    summary[LR] = "0.01"  # the rate is no longer swept in effect: a single value
    data = importance.importance_data(summary)
    assert data is not None
    assert data.axes[0].name == "variant"
    variant = by_name(data)["variant"]
    assert variant.kind == importance.CATEGORY and math.isnan(variant.correlation)
    assert data.trend(variant) == importance.UNORDERED
    assert by_name(data)["learning_rate"].importance == 0.0  # one value: shuffling is a no-op
    table = facts.importance_table(data)
    assert table is not None and table.rows[0][2:] == ["—", "— (no order)"]


def test_diverged_runs_count_at_the_worst_completed_value_and_failed_runs_not_at_all():
    summary = lr_summary()
    high = summary[LR] == "0.1"
    summary.loc[high, "status"] = "diverged"
    summary.loc[high, "best_val_accuracy"] = float("nan")
    summary.loc[summary[LR] == "1e-05", "status"] = "failed"
    data = importance.importance_data(summary)
    assert data is not None
    assert (data.n_completed, data.n_diverged, data.n_fitted) == (24, 8, 32)
    lr = by_name(data)["learning_rate"]
    # rising from 1e-4 to 1e-2, then the worst at 0.1: still the axis that decides, but the
    # correlation is weaker than the clean rise's
    assert lr.importance > 20 * by_name(data)["batch_size"].importance
    assert 0 < lr.correlation < 0.9


def test_fewer_than_eight_completed_runs_cannot_tell():
    summary = lr_summary(seeds=1).iloc[:9].copy()
    summary.loc[summary.index[:2], "status"] = ["failed", "running"]
    data = importance.importance_data(summary)
    assert data is not None and not data.enough and data.axes == []
    assert data.n_completed == 7
    assert facts.importance_lead(data) == (
        "Cannot tell which swept axis matters most for best_val_accuracy: 7 completed runs, "
        "and it takes at least 8."
    )
    assert facts.importance_table(data) is None and facts.importance_note(data) is None


def test_a_single_axis_or_no_metric_has_no_importance():
    summary = lr_summary().drop(columns=[BS])
    assert importance.importance_data(summary) is None
    assert importance.importance_data(lr_summary().drop(columns=["best_val_accuracy"])) is None


def test_a_metric_that_never_moved_explains_nothing():
    summary = lr_summary()
    summary["best_val_accuracy"] = 0.5
    data = importance.importance_data(summary)
    assert data is not None and data.constant and facts.importance_table(data) is None
    assert facts.importance_lead(data) == (
        "Every run had the same best_val_accuracy: no swept axis made a difference."
    )


def test_ten_thousand_runs_take_seconds_not_minutes():
    rng = np.random.default_rng(0)
    n = 10_000
    lr, bs = 10 ** rng.uniform(-5, -1, n), rng.integers(8, 512, n)
    dropout = rng.uniform(0, 0.5, n)
    acc = 0.5 + 0.08 * (np.log10(lr) + 5) - 0.1 * dropout + rng.normal(0, 0.01, n)
    summary = pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], LR: [f"{v:.6g}" for v in lr],
                            BS: bs.astype(str), DROPOUT: [f"{v:.4f}" for v in dropout],
                            "status": "completed", "best_val_accuracy": acc})  # fmt: skip
    importance.importance_data(lr_summary())  # scikit-learn imported: not what is timed
    start = time.perf_counter()
    data = importance.importance_data(summary)
    took = time.perf_counter() - start
    assert took < 20, took
    assert data is not None and data.n_fitted == importance.MAX_ROWS
    assert [a.name for a in data.axes] == ["learning_rate", "dropout", "batch_size"]
    assert by_name(data)["dropout"].correlation < -0.1


def write_folder(root: Path, summary: pd.DataFrame) -> Path:
    """An experiment folder: summary.csv and a run folder with a history per row."""
    exp = root / "lr-bs"
    exp.mkdir()
    summary.to_csv(exp / store.SUMMARY_FILE, index=False)
    for rid, status in zip(summary["run_id"], summary["status"], strict=True):
        (exp / rid).mkdir()
        (exp / rid / store.HISTORY_FILE).write_text(HEADER + "".join(ROWS))
        store.write_json(exp / rid / store.RESULT_FILE, {"run_id": rid, "status": status})
    return exp


def test_the_plot_and_the_report_section(tmp_path):
    exp = write_folder(tmp_path, lr_summary(seeds=1))
    written = plots.plot_experiment(exp)
    assert exp / "plots" / plots.IMPORTANCE_PLOT in written
    report.write_report(exp)
    md = (exp / "report.md").read_text()
    assert "### Parameter importance\n\nlearning_rate matters most for best_val_accuracy " \
        "(larger values did better); then batch_size." in md  # fmt: skip
    assert "| axis | importance | correlation | larger values |" in md
    assert "| learning_rate (log10) |" in md
    assert "](plots/importance.png)" in md
    html = (exp / "report.html").read_text()
    assert "<h3>Parameter importance</h3>" in html and "out-of-bag R²" in html


def test_seven_runs_draw_no_plot_and_the_report_says_why(tmp_path):
    exp = write_folder(tmp_path, lr_summary(seeds=1).iloc[:7])
    assert plots.IMPORTANCE_PLOT not in [p.name for p in plots.plot_experiment(exp)]
    report.write_report(exp)
    md = (exp / "report.md").read_text()
    assert "Cannot tell which swept axis matters most for best_val_accuracy: 7 completed" in md
    assert "importance.png" not in md


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """A real 2 x 2 sweep with 2 seeds (8 runs) of tiny circles models, as `nnlab run`
    writes it."""
    tmp = tmp_path_factory.mktemp("sweep")
    doc = merge(TINY, {"name": "grid", "repeats": 2, "sweep": {
        BS: [16, "full"], LR: [0.05, 0.005]}})  # fmt: skip
    config = tmp / "grid.yaml"
    config.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "runs" / "grid"


def test_a_real_sweep_gets_the_plot_and_the_section(real_sweep):
    assert (real_sweep / "plots" / "importance.png").stat().st_size > 10_000
    md = (real_sweep / "report.md").read_text()
    assert "### Parameter importance" in md
    section = md.split("### Parameter importance", 1)[1]
    assert "| batch_size |" in section and "| learning_rate |" in section
    assert "— (no order)" in section  # batch_size [16, full] is a category
    assert "on 8 completed runs" in section
