"""What nnlab.report.collect reads: a single run, an experiment where every run failed,
the layer tables from captured gradients, diagnoses of old runs, runs whose loss rose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from nnlab import report, store

DATA_PNG = '<img src="data:image/png;base64,'


def section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


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


def test_collect_formats_every_table_before_rendering(experiment):
    rep = report.collect(experiment)
    assert isinstance(rep, report.Report) and rep.kind == "experiment" and rep.n_runs == 7
    assert rep.status_counts == {"completed": 5, "diverged": 1, "failed": 1}
    assert rep.best_run == "activation=tanh_seed=1_abc1" and rep.target == "best_val_accuracy"
    assert rep.results.columns[:6] == ["#", "run", "activation", "seed", "status",
                                       "best_val_accuracy"]  # fmt: skip
    assert rep.results.rows[0][:6] == ["1", "activation=tanh_seed=1_abc1", "tanh", "1",
                                       "completed", "0.9700"]  # fmt: skip
    assert all(isinstance(c, str) for row in rep.results.rows for c in row)
    assert [g[0] for g in rep.grouped.rows] == ["activation=tanh", "activation=sigmoid",
                                                "activation=relu"]  # fmt: skip
    assert [(p.run_id, p.status, p.epoch) for p in rep.problems] == [
        ("activation=sigmoid_seed=2_abc2", "diverged", "7"),
        ("activation=relu_seed=0_abc0", "failed", "0"),
    ]
    assert [i.link for i in rep.best_run_plots] == [
        "activation=tanh_seed=1_abc1/plots/learning_curves.png"
    ]
    assert rep.best_run_plots[0].size == (80, 60)  # from the PNG header: 2 x 1.5 in at 40 dpi


def test_the_report_imports_no_deep_learning_backend():
    code = (
        "import sys, nnlab.report\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
