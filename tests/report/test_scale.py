"""Reports of large sweeps (nnlab.report.runs): above a limit the per-run table, the
per-setting table, the diagnoses, the failures and the swept values show a selection and say
how many were left out, linking summary.csv; at the limit nothing changes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from nnlab import report, store
from nnlab.compare import GroupStats
from nnlab.report import runs


def make_sweep(root: Path, specs: list[dict], name: str = "big") -> Path:
    """An experiment of tiny runs: each spec has lr, seed, status and optionally acc, label
    and error. Only result.json and summary.csv: enough for the report."""
    exp = root / name
    exp.mkdir(parents=True)
    (exp / store.EXPERIMENT_FILE).write_text(f"name: {name}\n")
    rows = []
    for spec in specs:
        rid = f"learning_rate={spec['lr']}_seed={spec['seed']}_x"
        status, acc, label = spec["status"], spec.get("acc"), spec.get("label")
        result = {"status": status, "epochs_run": 5}
        if acc is not None:
            result.update(final={"val_accuracy": acc}, best={"val_accuracy": acc})
        if label:
            result["diagnosis"] = {"label": label, "reason": f"{label} of {rid}"}
        if spec.get("error"):
            result["error"] = spec["error"]
        (exp / rid).mkdir()
        (exp / rid / store.RESULT_FILE).write_text(json.dumps(result))
        rows.append({"run_id": rid, "train.learning_rate": spec["lr"], "seed": spec["seed"],
                     "status": status, "final_val_accuracy": acc, "best_val_accuracy": acc,
                     "diagnosis": label})  # fmt: skip
    pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    return exp


def grid(n_lr: int, seeds: int = 2) -> list[dict]:
    """Completed runs, each learning rate better than the one before, seeds alike."""
    return [{"lr": f"0.{lr + 1:04d}", "seed": seed, "status": "completed",
             "acc": round(0.1 + 0.001 * lr + 0.0001 * seed, 6), "label": "good fit"}
            for lr in range(n_lr) for seed in range(seeds)]  # fmt: skip


def section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def run_rows(md: str) -> list[str]:
    """The per-run table's lines (header, rule, rows and gap rows)."""
    results = section(md, "Results").split("Per setting", 1)[0]
    return [line for line in results.splitlines() if line.startswith("| ")]


def test_over_the_limit_the_run_table_shows_the_best_worst_and_unfinished_runs(tmp_path):
    specs = grid(30)  # 60 runs
    for i, status in ((3, "failed"), (11, "failed"), (20, "failed"), (31, "diverged"),
                      (40, "diverged"), (50, "running")):  # fmt: skip
        specs[i].update(status=status, acc=None, label=None)
    exp = make_sweep(tmp_path, specs)
    rep = report.collect(exp)
    ranks = [row[0] for row in rep.results.rows]
    assert ranks == [str(r) for r in [*range(1, 21), *range(45, 55)]] + [""] * 6
    assert [row[4] for row in rep.results.rows[30:]] == ["failed"] * 3 + ["diverged"] * 2 + [
        "running"
    ]
    assert rep.results.rows[0][1] == "learning_rate=0.0030_seed=1_x"  # the best
    assert rep.results.rows[29][1] == "learning_rate=0.0001_seed=0_x"  # the worst
    assert [(i, note.text) for i, note in rep.results.gaps] == [
        (20, "24 completed runs, ranked 21 to 44, not shown")
    ]
    sentence = (
        "60 runs are too many for one table: it shows the 20 best and the 10 worst completed "
        "runs, and every run that did not complete (3 failed, 2 diverged, 1 running); every run "
        "is in [summary.csv](summary.csv)."
    )
    md = report.write_report(exp)[0].read_text()
    assert sentence in md
    lines = run_rows(md)
    assert len(lines) == 2 + 36 + 1
    assert lines[22].startswith("| … | _24 completed runs, ranked 21 to 44, not shown_ |   |")
    assert lines[23].startswith("| 45 | `learning_rate=0.0006_seed=0_x` |")
    html = (exp / "report.html").read_text()
    assert "<h3>The best and worst runs</h3>" in html and "<h3>Every run</h3>" not in html
    assert 'every run is in <a href="summary.csv">summary.csv</a>.</p>' in html
    assert '<td colspan="8" class="note">… 24 completed runs, ranked 21 to 44, not shown' in html


def test_at_the_limit_the_run_table_lists_every_run(tmp_path):
    specs = grid(25)  # 50 runs: RUN_TABLE_MAX
    specs[7].update(status="failed", acc=None, label=None)
    assert len(specs) == runs.RUN_TABLE_MAX
    exp = make_sweep(tmp_path, specs)
    rep = report.collect(exp)
    assert len(rep.results.rows) == 50 and rep.results.gaps == ()
    assert [row[0] for row in rep.results.rows] == [str(r) for r in range(1, 50)] + [""]
    assert rep.results_left_out is None and rep.problems_left_out is None
    assert [(d.label, d.n, d.left_out, d.more) for d in rep.diagnoses] == [
        ("good fit", 49, 0, None)
    ]
    md = report.write_report(exp)[0].read_text()
    assert "too many" not in md and "summary.csv" not in md and " … " not in md
    assert len(run_rows(md)) == 2 + 50
    assert "href=" not in (exp / "report.html").read_text().split("</nav>", 1)[1]


def test_unfinished_runs_diagnoses_and_swept_values_are_capped(tmp_path):
    specs = grid(60)  # 120 runs, 60 learning rates
    for i in range(0, 120, 2):  # seed 0 of every setting: 60 failed, two distinct errors
        specs[i].update(status="failed", acc=None, label=None, error=f"ValueError: {i % 4}")
    for i in (1, 3, 5, 7, 9):
        specs[i].update(status="diverged", acc=None, label="diverged")
    for i in range(11, 62, 2):  # 26 overfit, 29 good fit
        specs[i]["label"] = "overfit"
    exp = make_sweep(tmp_path, specs)
    rep = report.collect(exp)

    done = [row for row in rep.results.rows if row[0]]
    assert len(done) == 30  # 55 completed: the 20 best and 10 worst
    others = [row[4] for row in rep.results.rows if not row[0]]
    assert len(others) == 50 and others.count("diverged") == 5  # every status shown
    assert rep.results.gaps[-1][0] == len(rep.results.rows)
    assert rep.results.gaps[-1][1] == report.Note(
        "and 15 more that did not complete (15 failed): see the status column of summary.csv",
        "summary.csv",
    )
    assert "50 of the 65 runs that did not complete (60 failed, 5 diverged)" in (
        rep.results_left_out.text
    )

    assert len(rep.problems) == 50
    assert {p.error for p in rep.problems if p.status == "failed"} == {
        "ValueError: 0",
        "ValueError: 2",
    }
    assert rep.problems_left_out.text == (
        "65 runs failed, diverged or did not finish: 50 are listed, one of each distinct error "
        "first; the other 15 (15 failed) are in the status column of summary.csv, each with its "
        "error in its result.json."
    )

    lines = {d.label: d for d in rep.diagnoses}
    assert (lines["good fit"].n, lines["overfit"].n, lines["diverged"].n) == (29, 26, 5)
    assert lines["good fit"].more is None and len(lines["good fit"].runs) == 29

    md = report.write_report(exp)[0].read_text()
    assert "- **swept train.learning_rate**: 60 values from 0.0001 to 0.0060" in md
    assert "| … | _and 15 more that did not complete (15 failed): see the status column of " \
           "[summary.csv](summary.csv)_ |" in md  # fmt: skip
    failed = section(md, "Failed or diverged runs")
    assert len([line for line in failed.splitlines() if line.startswith("| `")]) == 50
    assert "are in the status column of [summary.csv](summary.csv), each" in failed


def test_a_label_over_the_limit_lists_examples_and_a_count(tmp_path):
    specs = grid(26)  # 52 runs, all "good fit"
    specs[51]["label"] = "overfit"  # 51 good fit: over DIAGNOSIS_RUNS_MAX
    exp = make_sweep(tmp_path, specs)
    lines = {d.label: d for d in report.collect(exp).diagnoses}
    line, other = lines["good fit"], lines["overfit"]
    assert (line.label, line.n, len(line.runs), line.left_out) == ("good fit", 51, 5, 46)
    assert line.runs[0][0] == "learning_rate=0.0026_seed=0_x"  # best-ranked first
    assert (other.label, other.n, other.more) == ("overfit", 1, None)
    md = report.write_report(exp)[0].read_text()
    diagnosis = section(md, "Diagnosis")
    assert "- **good fit**, 51 runs; the 5 best-ranked:\n" in diagnosis
    assert len(re.findall(r"^  - `", diagnosis, re.M)) == 5
    assert ("  - and 46 more: see the diagnosis column of [summary.csv](summary.csv).\n"
            in diagnosis)  # fmt: skip
    html = (exp / "report.html").read_text()
    assert "<b>51 runs</b>" in html
    assert "<summary>the 5 best-ranked runs and their reasons</summary>" in html
    assert html.count("<li><code>") == 5


def write_gradients(path: Path, std: float) -> None:
    path.write_text("epoch,layer,tensor,stat,value\n"
                    + "".join(f"{e},dense,kernel,std,{std}\n" for e in range(3)))  # fmt: skip


def test_the_settings_table_over_the_limit_shows_the_best_and_worst(tmp_path):
    specs = grid(205)  # 205 settings of 2 seeds
    specs[200].update(status="failed", acc=None, label=None)  # setting 101: one seed left
    specs[10].update(status="failed", acc=None, label=None)
    specs[11].update(status="failed", acc=None, label=None)  # setting 6: no completed run
    exp = make_sweep(tmp_path, specs)
    for rid, std in (("learning_rate=0.0205_seed=0_x", 0.5), ("learning_rate=0.0100_seed=0_x", 9)):
        write_gradients(exp / rid / store.GRADIENTS_FILE, std)
    rep = report.collect(exp)
    settings = [row[0] for row in rep.grouped.rows]
    assert len(settings) == 30
    assert settings[:2] == ["learning_rate=0.0205", "learning_rate=0.0204"]
    assert settings[19] == "learning_rate=0.0186" and settings[20] == "learning_rate=0.0011"
    assert settings[-1] == "learning_rate=0.0001"
    assert [(i, n.text) for i, n in rep.grouped.gaps] == [
        (20, "174 settings, ranked 21 to 194, not shown"),
        (30, "and 1 setting without a completed run: see the status column of summary.csv"),
    ]
    assert rep.grouped_left_out.text == (
        "205 settings are too many for one table: it shows the 20 best and the 10 worst by "
        "mean; every run is in summary.csv."
    )
    # the layer tables keep the settings shown: the best one's file is read, a middle one's not
    assert [t.rows for _, t in rep.layer_tables] == [[["learning_rate=0.0205", "0.5000"]]] * 2
    assert rep.layer_tables_note == "Only the 30 best and worst of the 205 settings, by mean."
    md = report.write_report(exp)[0].read_text()
    grouped = md.split("Per setting", 1)[1].split("\n## ", 1)[0]
    assert "| _174 settings, ranked 21 to 194, not shown_ |   |" in grouped


def stats(n: int) -> list[GroupStats]:
    return [GroupStats(f"s{i}", {}, [f"r{i}"], (float(n - i),), (0,)) for i in range(n)]


def test_select_settings_keeps_every_setting_up_to_the_limit():
    assert runs.select_settings(stats(runs.SETTINGS_TABLE_MAX), "summary.csv") == (None, (), None)
    shown, gaps, note = runs.select_settings(stats(runs.SETTINGS_TABLE_MAX + 1), None)
    assert [g.label for g in shown] == [f"s{i}" for i in [*range(20), *range(191, 201)]]
    assert gaps[0][1] == report.Note("171 settings, ranked 21 to 191, not shown")
    assert note.link is None and note.text.endswith("every run's result.json is in its folder.")


def test_an_experiment_over_the_limit_where_every_run_failed(tmp_path):
    specs = [{"lr": f"0.{i + 1:04d}", "seed": 0, "status": "failed", "error": "OSError: disk"}
             for i in range(60)]  # fmt: skip
    exp = make_sweep(tmp_path, specs)
    rep = report.collect(exp)
    assert len(rep.results.rows) == 50 and rep.grouped is None
    assert rep.results_left_out.text == (
        "60 runs are too many for one table: it shows 50 of the 60 runs that did not complete "
        "(60 failed); every run is in summary.csv."
    )
    assert len(rep.problems) == 50 and "the other 10 (10 failed)" in rep.problems_left_out.text
    assert report.write_report(exp)[1].is_file()
