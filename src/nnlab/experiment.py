"""An experiment folder as Python objects: ``nnlab.load(path)`` returns an :class:`Experiment`.

The reading wing's face for notebooks: every answer is read from the files ``store`` wrote
(through ``results``), so an experiment that is still running, or was interrupted, reads as
far as it got. Nothing here imports a deep-learning backend.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from nnlab import compare, results, store
from nnlab.errors import NnlabError
from nnlab.names import is_maximized


class Experiment:
    """An experiment folder (``<out>/<name>``), or a single run folder read as one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if store.is_run_dir(self.path):
            self.run_dirs = [self.path]
        elif self.path.is_dir():
            self.run_dirs = store.run_dirs(self.path)
        else:
            raise NnlabError(f"{self.path}: no such experiment or run folder")
        self.is_run = self.run_dirs == [self.path]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def runs(self) -> list[str]:
        """The run ids, as summary.csv lists them."""
        return [results.text(r) for r in self.summary.get(results.RUN_ID, [])]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per run, as summary.csv (read again at each access: a running experiment
        grows); a run folder, or an experiment without summary.csv, from its records."""
        if self.is_run:
            return results.summary_from_results(self.run_dirs)
        return results.experiment_summary(self.path, store.run_dirs(self.path))

    @property
    def statuses(self) -> dict[str, str]:
        """Each run's status: completed, diverged, failed, interrupted or running."""
        frame = self.summary
        return dict(zip(self.runs, results.statuses(frame), strict=True))

    def history(self) -> pd.DataFrame:
        """Every run's epochs in one long frame: ``run_id``, the swept values and ``seed`` as
        columns, then ``epoch`` and the metrics, ready for ``seaborn``'s ``hue=``."""
        frame = self.summary
        keys = [c for c in (*results.sweep_axes(frame), "seed") if c in frame.columns]
        parts = []
        for i, run_id in enumerate(self.runs):
            run_dir = self.path if self.is_run else self.path / run_id
            try:
                part = results.read_history(run_dir / store.HISTORY_FILE)
            except (NnlabError, OSError):
                continue  # no epoch written yet
            part.insert(0, results.RUN_ID, run_id)
            for j, key in enumerate(keys, start=1):
                part.insert(j, key, frame[key].iloc[i])
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=[results.RUN_ID, *keys, "epoch"])
        return pd.concat(parts, ignore_index=True)

    def verdict(self, metric: str | None = None) -> compare.SeedVerdict:
        """Which setting won on ``metric`` (default: the target column, e.g.
        ``best_val_accuracy``) and whether it beat the runner-up by more than seed noise."""
        return compare.seed_verdict(self.summary, self._column(metric))

    def groups(self, metric: str | None = None) -> pd.DataFrame:
        """One row per setting: its swept values, the runs counted, mean and std of
        ``metric``, best first."""
        verdict = self.verdict(metric)
        rows = [{**g.values, "runs": g.n, "mean": g.mean, "std": g.std, "seeds": list(g.seeds)}
                for g in verdict.groups]  # fmt: skip
        return pd.DataFrame(rows)

    def best(self, metric: str | None = None) -> pd.Series:
        """The summary row of the best completed run on ``metric`` (default: the target)."""
        column = self._column(metric)
        frame = self.summary
        counted = frame[results.counted(frame)]
        values = pd.to_numeric(counted[column], errors="coerce")
        if values.notna().sum() == 0:
            raise NnlabError(f"{self.path}: no completed run has {column}")
        maximize = is_maximized(column.removeprefix("best_").removeprefix("final_"))
        return counted.loc[values.idxmax() if maximize else values.idxmin()]

    def plot(self, kind: str | None = None) -> Any:
        """Matplotlib figures of the plots ``nnlab plot`` draws, returned instead of written.

        ``kind`` is a plot's name, for one figure (``curves_loss``, ``heatmap_...``,
        ``best_val_accuracy_vs_batch_size``; of a run: ``learning_curves``,
        ``decision_boundary``), or the start of names for a list of them (``curves`` every
        metric's comparison, the default for an experiment; ``all`` every plot, the default
        for a run). Unknown names raise ``NnlabError`` listing
        the valid ones."""
        from nnlab import plots
        from nnlab.plots import draw

        with draw.kept_figures() as figures:
            if self.is_run:
                plots.plot_run(self.path)
            else:
                plots.plot_experiment(self.path)
        kind = kind or ("all" if self.is_run else "curves")
        if kind in figures:
            return figures[kind]
        family = [fig for name, fig in figures.items() if kind == "all" or name.startswith(kind)]
        if not family:
            valid = ", ".join(["all", *figures]) if figures else "none yet"
            raise NnlabError(f"kind: no plot {kind!r} in {self.path}; valid: {valid}")
        return family

    def report(self) -> Path:
        """Write report.md and report.html (as ``nnlab report``); returns the HTML's path."""
        from nnlab import report

        _, page = report.write_report(self.path)
        return page

    def _column(self, metric: str | None) -> str:
        frame = self.summary
        column = metric or results.target_column(frame)
        if column is None or column not in frame.columns:
            have = [c for c in frame.columns if c.startswith(("best_", "final_"))]
            raise NnlabError(f"metric: {metric or 'a target'} is not in the summary; "
                             f"valid: {', '.join(have) or 'none yet'}")  # fmt: skip
        return column

    def __repr__(self) -> str:
        counts = pd.Series(list(self.statuses.values()), dtype=str).value_counts()
        said = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no runs yet"
        return f"Experiment({str(self.path)!r}: {said})"

    def _repr_html_(self) -> str:
        """A notebook cell shows the summary table and the verdict."""
        frame = self.summary
        try:
            sentence = self.verdict().sentence
        except NnlabError as e:
            sentence = str(e)
        table = frame.head(50).to_html(index=False, na_rep="", float_format="{:.4g}".format)
        more = f"<p>… {len(frame) - 50} more runs</p>" if len(frame) > 50 else ""
        return (f"<h4>{html.escape(self.name)}</h4>{table}{more}"
                f"<p><b>Verdict:</b> {html.escape(sentence)}</p>")  # fmt: skip


def load(path: str | Path) -> Experiment:
    """The experiment (or run) folder at ``path``, read as far as it got."""
    return Experiment(path)


__all__ = ["Experiment", "load"]
