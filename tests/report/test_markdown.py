"""report.md (nnlab.report.markdown): the sections, the ranked table, the verdict, the
diagnoses, the links to the plots and the failures."""

from __future__ import annotations

import re

from nnlab import report


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
