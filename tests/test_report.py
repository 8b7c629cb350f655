"""The seed-noise verdict (compare.py) and the written report (report.py, `nnlab report`)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from nnlab import compare, hooks, report, store
from nnlab.cli import app

from helpers import TINY

ROOT = Path(__file__).resolve().parents[1]
CHECK_SCRIPT = ROOT / "scripts" / "check_report.py"
CHROMIUM = Path("/usr/bin/chromium")
DATA_PNG = '<img src="data:image/png;base64,'


# ---------------------------------------------------------------------------------------------
# compare.py


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


# ---------------------------------------------------------------------------------------------
# a synthetic experiment folder

TRACEBACK = "Traceback (most recent call last):\n  File 'builder.py'\nValueError: bad width"


def write_png(path: Path, color: str = "tab:blue") -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5), dpi=40)
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1], color=color)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def make_experiment(root: Path, description: str = "Which activation? <b>tanh</b> & co") -> Path:
    """tanh (3 seeds) clearly beats sigmoid (2 completed seeds, 1 diverged); one relu run
    failed. Three comparison PNGs and the best run's learning curves: 4 PNGs."""
    exp = root / "acts"
    exp.mkdir(parents=True)
    doc = {"name": "acts", "description": description, "repeats": 3,
           "sweep": {"model.activation": ["tanh", "sigmoid", "relu"]}}  # fmt: skip
    (exp / store.EXPERIMENT_FILE).write_text(yaml.safe_dump(doc, sort_keys=False))
    runs = [  # activation, seed, status, best_val_accuracy, diagnosis
        ("tanh", 0, "completed", 0.95, "good fit"),
        ("tanh", 1, "completed", 0.97, "good fit"),
        ("tanh", 2, "completed", 0.96, "overfit"),
        ("sigmoid", 0, "completed", 0.88, "underfit"),
        ("sigmoid", 1, "completed", 0.86, "underfit"),
        ("sigmoid", 2, "diverged", 0.52, "diverged"),
        ("relu", 0, "failed", None, None),
    ]
    rows = []
    for act, seed, status, acc, label in runs:
        rid = f"activation={act}_seed={seed}_abc{seed}"
        run = exp / rid
        run.mkdir()
        result = {"run_id": rid, "status": status, "baseline_accuracy": 0.5, "epochs_run": 20,
                  "wall_s": 10.0, "started": "2026-01-02T10:00:00+00:00",
                  "finished": "2026-01-02T10:05:00+00:00"}  # fmt: skip
        if acc is not None:
            result.update(final={"val_accuracy": acc - 0.01, "val_loss": 1 - acc},
                          best={"val_accuracy": acc, "val_loss": 0.9 - acc})  # fmt: skip
        if label:
            result["diagnosis"] = {"label": label, "reason": f"{label} because of {act}"}
        if status == "diverged":
            result.update(diverged_epoch=7, error=None)
        if status == "failed":
            result.update(error="ValueError: bad width", traceback=TRACEBACK, epochs_run=0)
        store.write_json(run / store.RESULT_FILE, result)
        rows.append({"run_id": rid, "model.activation": act, "seed": seed, "status": status,
                     "epochs_run": result["epochs_run"],
                     "final_val_loss": None if acc is None else 1 - acc,
                     "final_val_accuracy": None if acc is None else acc - 0.01,
                     "best_val_loss": None if acc is None else 0.9 - acc,
                     "best_val_accuracy": acc, "best_epoch": 15, "wall_s": 10.0,
                     "diagnosis": label})  # fmt: skip
    pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    best = exp / "activation=tanh_seed=1_abc1"
    env = {"nnlab": "0.1.0", "keras": "3.3.3", "backend": "tensorflow", "python": "3.11.7",
           "device": {"used": "cpu", "gpus": []}, "host": "lab-host"}  # fmt: skip
    store.write_json(best / store.ENV_FILE, env)
    write_png(best / "plots" / "learning_curves.png")
    for name in ("curves_loss.png", "curves_accuracy.png", "best_val_accuracy_vs_activation.png"):
        write_png(exp / "plots" / name)
    return exp


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    return make_experiment(tmp_path)


def section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_markdown_has_sorted_table_verdict_baseline_and_errors(experiment):
    md_path, html_path = report.write_report(experiment)
    assert (md_path, html_path) == (experiment / "report.md", experiment / "report.html")
    md = md_path.read_text()
    assert md.startswith("# acts\n\nWhich activation? <b>tanh</b> & co\n")
    ran = section(md, "What was run")
    assert "- **swept model.activation**: tanh, sigmoid, relu" in ran
    assert "- **runs**: 7: 5 completed, 1 diverged, 1 failed" in ran
    assert "- **seeds**: 3 seeds per setting (0, 1, 2)" in ran
    assert "- **wall time**: 1 min 10 s" in ran
    assert "lab-host" in ran and "```yaml\nname: acts\n" in ran

    results = section(md, "Results")
    table = [line for line in results.splitlines() if line.startswith("| ") and "`" in line]
    ids = [re.search(r"`([^`]+)`", line)[1] for line in table]
    assert ids == [
        "activation=tanh_seed=1_abc1", "activation=tanh_seed=2_abc2",
        "activation=tanh_seed=0_abc0", "activation=sigmoid_seed=0_abc0",
        "activation=sigmoid_seed=1_abc1", "activation=sigmoid_seed=2_abc2",
        "activation=relu_seed=0_abc0",
    ]  # fmt: skip
    assert table[0].startswith(
        "| 1 | `activation=tanh_seed=1_abc1` | tanh | 1 | completed | 0.9700 |"
    )
    assert "| diverged |" in table[5] and "| failed |" in table[6]
    assert "**activation=tanh is best, by more than the seed noise.** activation=tanh beats " in md
    assert (
        "activation=sigmoid by 0.0900 best_val_accuracy (0.9600 ± 0.0100 vs 0.8700 ± 0.0141, "
        "3 and 2 seeds); Welch's t-test p = 0.0256 < 0.05: larger than the seed noise." in md
    )
    assert "a diverged run is a failure, not a data point." in md
    assert "No-skill baseline: always predicting the majority class gives 0.50 val accuracy." in md
    grouped = results.split("Per setting", 1)[1]
    assert "| activation=tanh | 3 | 0.9600 ± 0.0100 |" in grouped
    assert "| activation=sigmoid | 2 of 3 | 0.8700 ± 0.0141 |" in grouped
    assert "| activation=relu | 0 of 1 | – |" in grouped

    diagnosis = section(md, "Diagnosis")
    assert diagnosis.index("**good fit**, 2 runs") < diagnosis.index("**overfit**, 1 run")
    assert (  # every run with its own reason, best-ranked first
        "- **good fit**, 2 runs:\n  - `activation=tanh_seed=1_abc1`: good fit because of tanh.\n"
        "  - `activation=tanh_seed=0_abc0`: good fit because of tanh.\n" in diagnosis
    )
    assert "- **diverged**, 1 run (`activation=sigmoid_seed=2_abc2`)" in diagnosis

    plots = section(md, "Plots")
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", plots)
    assert links == [
        "plots/curves_accuracy.png", "plots/curves_loss.png",
        "plots/best_val_accuracy_vs_activation.png",
        "activation=tanh_seed=1_abc1/plots/learning_curves.png",
    ]  # fmt: skip
    assert all((experiment / link).is_file() for link in links)

    failed = section(md, "Failed or diverged runs")
    assert "| `activation=sigmoid_seed=2_abc2` | diverged | 7 | the loss became NaN" in failed
    assert "| `activation=relu_seed=0_abc0` | failed | 0 | ValueError: bad width |" in failed
    assert "most recent call last" not in md and "builder.py" not in md


def test_html_embeds_every_image_and_nothing_external(experiment):
    _, html_path = report.write_report(experiment)
    page = html_path.read_text()
    pngs = list(experiment.rglob("*.png"))
    assert len(pngs) == 4
    assert page.count(DATA_PNG) == 4
    assert page.count("<img ") == 4
    assert not re.search(r'(src|href)="(?!data:|#)', page), "an external or relative reference"
    assert "http://" not in page and "https://" not in page and "file:" not in page
    assert "<script" not in page and "<link" not in page
    assert "Which activation? &lt;b&gt;tanh&lt;/b&gt; &amp; co" in page  # escaped
    assert "<b>tanh</b>" not in page
    # the traceback only inside a <details>
    before, _, after = page.partition("<details><summary>traceback</summary><pre>Traceback")
    assert after and "Traceback" not in before
    assert "Welch&#x27;s t-test p = " in page and 'class="verdict yes"' in page


def test_a_single_run_directory_gets_its_own_report(experiment):
    run = experiment / "activation=tanh_seed=1_abc1"
    md_path, html_path = report.write_report(run)
    md = md_path.read_text()
    assert md.startswith("# acts: run activation=tanh_seed=1_abc1\n")
    assert "- **model.activation**: tanh" in md and "- **runs**: 1, completed" in md
    assert "](plots/learning_curves.png)" in md
    assert "Welch" not in md  # one run: no comparison
    assert html_path.read_text().count(DATA_PNG) == 1


def test_an_experiment_where_every_run_failed(tmp_path):
    exp = tmp_path / "broken"
    run = exp / "seed=0_aaa"
    run.mkdir(parents=True)
    store.write_json(run / store.RESULT_FILE, {"status": "failed", "error": "MemoryError: oom"})
    md_path, html_path = report.write_report(exp)  # no summary.csv: read from result.json
    md = md_path.read_text()
    assert "No metric to rank the runs by" in md
    assert "| `seed=0_aaa` | failed | – | MemoryError: oom |" in md
    assert "No plots yet" in md and html_path.read_text().count("<img ") == 0


def write_gradients(path: Path, stds: dict[str, list[float]]) -> None:
    """gradients.csv with the kernel-gradient std of each layer at epochs 0, 1, 2..."""
    lines = ["epoch,layer,tensor,stat,value"]
    for layer, values in stds.items():
        for epoch, value in enumerate(values):
            lines += [f"{epoch},{layer},kernel,std,{value}", f"{epoch},{layer},kernel,mean,0.0"]
    path.write_text("\n".join(lines) + "\n")


def test_layer_gradient_tables_from_the_captured_gradients(experiment):
    stds = {  # run: {layer: std at epochs 0, 1, 2}
        "activation=tanh_seed=0_abc0": {"dense1": [1.0, 2e-3, 1e-3], "dense2": [1.0, 0.4, 0.3]},
        "activation=tanh_seed=1_abc1": {"dense1": [1.0, 4e-3, 3e-3], "dense2": [1.0, 0.6, 0.5]},
        "activation=sigmoid_seed=0_abc0": {"dense1": [1.0, 2e-5, 1e-5], "dense2": [1, 0.25, 0.2]},
    }
    for rid, table in stds.items():
        write_gradients(experiment / rid / store.GRADIENTS_FILE, table)
    md = report.write_report(experiment)[0].read_text()
    first = md.split("after epoch 1 (mean over seeds):", 1)[1].split("\n\n", 2)[1]
    assert "| activation=tanh | 0.003000 | 0.5000 |" in first  # mean of the two tanh seeds
    assert "| activation=sigmoid | 2.000e-05 | 0.2500 |" in first
    last = md.split("at the last epoch (mean over seeds):", 1)[1]
    assert "| activation=tanh | 0.002000 | 0.4000 |" in last
    assert "| activation=sigmoid | 1.000e-05 | 0.2000 |" in last
    html = (experiment / "report.html").read_text()
    assert "Std of the kernel gradients per layer, after epoch 1" in html


def test_unreadable_gradients_cost_only_their_table(experiment):
    (experiment / "activation=tanh_seed=0_abc0" / store.GRADIENTS_FILE).write_text("garbage\n")
    md = report.write_report(experiment)[0].read_text()
    assert "kernel gradients" not in md and "## Plots" in md


def test_runs_written_without_a_diagnosis_are_diagnosed_from_their_history(experiment):
    rid = "activation=sigmoid_seed=0_abc0"
    run = experiment / rid
    result = store.read_json(run / store.RESULT_FILE)
    del result["diagnosis"]
    store.write_json(run / store.RESULT_FILE, result)
    lines = ["epoch,loss,val_loss"] + [
        f"{e},{0.7 - 0.001 * e},{0.71 - 0.001 * e}" for e in range(21)
    ]
    (run / store.HISTORY_FILE).write_text("\n".join(lines) + "\n")
    summary = pd.read_csv(experiment / store.SUMMARY_FILE)
    summary.drop(columns="diagnosis").to_csv(experiment / store.SUMMARY_FILE, index=False)
    md = report.write_report(experiment)[0].read_text()
    row = next(line for line in md.splitlines() if f"`{rid}`" in line)
    assert row.endswith("| underfit |")  # a loss that barely moved
    assert f"`{rid}`: the training loss barely moved (0.7 to 0.68)" in md
    other = next(line for line in md.splitlines() if "`activation=tanh_seed=1_abc1`" in line)
    assert other.endswith("| good fit |")  # diagnosed when it ran: from its result.json


def test_a_completed_run_whose_loss_went_up_is_listed_with_the_failures(experiment):
    run = experiment / "activation=tanh_seed=2_abc2"
    result = store.read_json(run / store.RESULT_FILE)
    result["diagnosis"] = {"label": "diverged", "reason": "the training loss ended at 3"}
    store.write_json(run / store.RESULT_FILE, result)
    problems = section(report.write_report(experiment)[0].read_text(), "Failed or diverged runs")
    assert (
        "`activation=tanh_seed=2_abc2` | completed, loss rose | – | the training loss " in problems
    )


def test_report_problems_are_never_fatal_at_the_end_of_a_run(tmp_path, monkeypatch):
    assert hooks.write_report(tmp_path / "nothing")[1].startswith("NnlabError: ")

    def boom(directory):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "write_report", boom)
    assert hooks.write_report(tmp_path) == (None, "RuntimeError: disk full")


# ---------------------------------------------------------------------------------------------
# the command

runner = CliRunner()


def test_report_command(experiment, tmp_path):
    result = runner.invoke(app, ["report", str(experiment)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [str(experiment / "report.md"),
                                          str(experiment / "report.html")]  # fmt: skip
    assert (experiment / "report.md").stat().st_size > 1000
    assert (experiment / "report.html").stat().st_size > 1000
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing"):
        result = runner.invoke(app, ["report", str(bad)])
        assert result.exit_code == 2
        assert result.output.strip() == (
            f"error: {bad}: not a run or experiment directory (no summary.csv, result.json or "
            "history.csv found)"
        )


def test_run_writes_the_report_and_says_where(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    exp = tmp_path / "tiny"
    assert f"Report: {exp / 'report.html'} (and report.md beside it)" in result.output
    md = (exp / "report.md").read_text()
    assert "nothing was swept, and with one seed the seed noise is unknown" in md
    assert "Welch" not in md  # no test ran: no note about one
    (run,) = store.run_dirs(exp)
    assert f"]({run.name}/plots/learning_curves.png)" in md
    assert (exp / "report.html").read_text().count(DATA_PNG) >= 2  # curves and boundary


# ---------------------------------------------------------------------------------------------
# headless Chromium


def check(html: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK_SCRIPT), str(html), *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium")
def test_chromium_loads_every_image_and_catches_a_broken_one(experiment, tmp_path):
    _, html_path = report.write_report(experiment)
    shot = tmp_path / "shot.png"
    ok = check(html_path, "--screenshot", str(shot), "--window-size", "800,1200")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4 of 4 images loaded, 0 resources fetched" in ok.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    page = html_path.read_text()
    corrupt = tmp_path / "corrupt.html"
    corrupt.write_text(re.sub(r"base64,[A-Za-z0-9+/]{40}", "base64,!!notapng!!", page, count=1))
    bad = check(corrupt)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "3 of 4 images loaded" in bad.stdout and "1 image(s) did not load" in bad.stderr

    # a relative link works beside the experiment's files but not in the file sent to someone
    relative = experiment / "relative.html"
    relative.write_text(page.replace(DATA_PNG, '<img src="plots/curves_loss.png" data-x="', 1))
    assert (experiment / "plots" / "curves_loss.png").is_file()
    assert check(relative).returncode == 1

    none = tmp_path / "none.html"
    none.write_text("<html><body><p>no images</p></body></html>")
    assert check(none).returncode == 1
    assert check(tmp_path / "missing.html").returncode == 2


def test_chromium_script_reports_a_missing_browser(experiment, tmp_path):
    _, html_path = report.write_report(experiment)
    out = check(html_path, "--chromium", str(tmp_path / "no-chromium"))
    assert out.returncode == 2 and "not found" in out.stderr
