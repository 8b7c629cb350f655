"""write_report (nnlab.report.write), the end-of-run hook and `nnlab report`."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from nnlab import hooks, report, store
from nnlab.cli import app

from helpers import TINY

DATA_PNG = '<img src="data:image/png;base64,'


def test_report_problems_are_never_fatal_at_the_end_of_a_run(tmp_path, monkeypatch):
    assert hooks.write_report(tmp_path / "nothing")[1].startswith("NnlabError: ")

    def boom(directory):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "write_report", boom)
    assert hooks.write_report(tmp_path) == (None, "RuntimeError: disk full")


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
