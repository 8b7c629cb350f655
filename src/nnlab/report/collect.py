"""Read an experiment (or one run) into a :class:`Report`: what was run, the results table,
the seed verdict, the diagnoses, the failures, the plots and the environment.

Reads only what ``store`` and ``plots`` wrote, through :mod:`nnlab.results` (and the capture
tables of :mod:`nnlab.plots.dynamics`); every table comes out already formatted
(:mod:`nnlab.report.cells`), so the renderers only lay text out. Which runs, settings,
diagnosed runs and failures a large experiment's report lists, and the sentences saying what
it left out, come from :mod:`nnlab.report.runs`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nnlab import diagnose, store
from nnlab.compare import Baseline, SeedVerdict, majority_baseline, seed_verdict
from nnlab.errors import NnlabError
from nnlab.names import is_maximized
from nnlab.plots.curves import NO_VALIDATION
from nnlab.plots.dynamics import layer_stat_table, read_captures
from nnlab.plots.importance import Importance, importance_data
from nnlab.report.cells import (
    Note,
    Table,
    duration,
    final_columns,
    frame_table,
    grouped_table,
    results_table,
)
from nnlab.report.runs import (
    DiagnosisLine,
    Problem,
    diagnosis_lines,
    problem_list,
    ranked,
    select_runs,
    select_settings,
)
from nnlab.results import (
    experiment_summary,
    read_config_text,
    read_env,
    read_history,
    read_record,
    statuses,
    sweep_axes,
    target_column,
    text,
    timestamp,
)

# the best run's own plots, in this order (any other PNG of the run follows)
RUN_PLOTS = {
    "learning_curves": "learning curves: train solid, validation dashed; the star marks the best "
    "validation epoch",
    "decision_boundary": "decision boundary on the input plane, with the data points",
    "weights": "weight statistics per layer and epoch",
    "gradients": "gradient statistics per layer and epoch",
    "batches": "loss of every batch",
}
# comparison plots: file-name prefix -> order on the page
PLOT_ORDER = ("curves_", "best_", "final_", "heatmap_", "importance", "gradients_", "weights_")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Image:
    path: Path  # on disk, for embedding
    link: str  # relative to the report, for markdown
    caption: str

    @property
    def size(self) -> tuple[int, int] | None:
        """Width and height in pixels from the PNG header; None when it is not a PNG."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(24)
        except OSError:
            return None
        if len(head) < 24 or head[:8] != PNG_SIGNATURE:
            return None
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@dataclass
class Report:
    """Everything the report says; built by :func:`collect`, rendered twice."""

    directory: Path
    kind: str  # "experiment" | "run"
    title: str
    description: str | None
    written: str  # when this report was made
    span: str | None  # when the runs ran
    config_file: str
    config_yaml: str
    axes: list[tuple[str, list[str]]]
    status_counts: dict[str, int]
    seeds: list[int]
    wall: str | None
    environment: list[tuple[str, str]]
    target: str | None
    results: Table | None
    results_note: str
    grouped: Table | None
    verdict: SeedVerdict | None
    baseline: str | None
    diagnoses: list[DiagnosisLine]
    comparison_plots: list[Image]
    best_run: str | None
    best_run_plots: list[Image]
    best_model: Note | None = None  # the best run's saved model (train.save_model)
    layer_tables: list[tuple[str, Table]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # what a long table or list left out (nnlab.report.runs); None when nothing is
    results_left_out: Note | None = None
    grouped_left_out: Note | None = None
    layer_tables_note: str | None = None
    problems_left_out: Note | None = None
    # which swept axis decides the target (two or more axes); None for fewer axes
    importance: Importance | None = None

    @property
    def n_runs(self) -> int:
        return sum(self.status_counts.values())


def _caption(name: str, held_out: bool = True) -> str:
    """A caption from a comparison plot's file name (``curves_val_loss.png`` ...)."""
    stem = Path(name).stem
    if stem.startswith("curves_"):
        metric = stem.removeprefix("curves_")
        lines = "train solid, validation dashed" if held_out else f"train only, {NO_VALIDATION}"
        return (f"{metric} of every setting against epoch: {lines}, "
                "mean over seeds with a band of ± 1 std")  # fmt: skip
    if "_vs_" in stem:
        column, axis = stem.split("_vs_", 1)
        return f"{column} against {axis}: every run, and the mean ± std of each value"
    if stem == "importance":
        return ("importance of each swept axis for the ranking metric (a random forest's drop "
                "in R² when the axis is shuffled) and its correlation with it")  # fmt: skip
    if stem.startswith("heatmap_"):
        return f"mean {stem.removeprefix('heatmap_')} of each pair of swept values"
    for kind in ("gradients", "weights"):
        if stem.startswith(f"{kind}_"):
            stat = stem.removeprefix(f"{kind}_")
            over = "arithmetic" if stat == "mean" else "geometric"
            return (f"{stat} of each layer's {kind}, per setting and epoch ({over} mean over "
                    "seeds)")  # fmt: skip
    return stem.replace("_", " ")


def _plot_key(path: Path) -> tuple[int, str]:
    name = path.name
    rank = next((i for i, p in enumerate(PLOT_ORDER) if name.startswith(p)), len(PLOT_ORDER))
    return rank, name


def _images(directory: Path, base: Path) -> list[Path]:
    folder = directory / store.PLOTS_DIR
    return sorted(folder.glob("*.png"), key=_plot_key) if folder.is_dir() else []


def _model_note(run_dir: Path | None, result: dict[str, Any] | None, base: Path) -> Note | None:
    """A sentence that links the run's saved model, when it saved one."""
    if run_dir is None or not (run_dir / store.MODEL_FILE).is_file():
        return None
    about = (result or {}).get("model") or {}
    link = _link(run_dir / store.MODEL_FILE, base)
    size = about.get("bytes")
    said = f", {size / 1024:.0f} KiB" if isinstance(size, int) else ""
    which = (f" ({about['weights']} weights, epoch {about.get('epoch')}{said})"
             if about.get("weights") else "")  # fmt: skip
    return Note(f"Saved model: {link}{which}; nnlab.load_model(run folder) loads it.", link)


def _link(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _run_images(run_dir: Path, base: Path, held_out: bool = True) -> list[Image]:
    found = {p.stem: p for p in _images(run_dir, base)}
    ordered = [found.pop(stem) for stem in RUN_PLOTS if stem in found]
    ordered += sorted(found.values())
    captions = dict(RUN_PLOTS)
    if not held_out:
        captions["learning_curves"] = f"learning curves, train only: {NO_VALIDATION}"
    return [Image(p, _link(p, base), captions.get(p.stem, p.stem.replace("_", " ")))
            for p in ordered]  # fmt: skip


def _environment(env: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not env:
        return []
    device = env.get("device")
    if isinstance(device, dict):
        used = str(device.get("used", "?"))
        gpus = device.get("gpus") or []
        device_text = f"{used} ({', '.join(map(str, gpus))})" if gpus else used
    else:
        device_text = text(device)
    backend = " ".join(text(env.get(k)) for k in ("backend", "backend_version")).strip()
    commit = text(env.get("git_commit"))[:12]
    rows = [
        ("nnlab", text(env.get("nnlab"))),
        ("keras", text(env.get("keras"))),
        ("backend", backend),
        ("python", text(env.get("python"))),
        ("device", device_text),
        ("host", text(env.get("host"))),
        ("platform", text(env.get("platform"))),
        ("git commit", commit),
    ]
    return [(k, v) for k, v in rows if v]


def _baseline_sentence(
    baseline: Baseline | None, target: str | None, scored: str = "val"
) -> str | None:
    """The no-skill sentence; ``scored`` names what the accuracy is measured on ("val",
    "training", or "" when the runs differ)."""
    if baseline is None:
        return None
    if baseline.high - baseline.low < 5e-4:
        value = f"{baseline.mean:.2f}"
    else:
        value = f"{baseline.low:.2f} to {baseline.high:.2f} (depending on the seed's split)"
    sentence = (f"No-skill baseline: always predicting the majority class gives {value} "
                f"{scored} accuracy".replace("  ", " "))  # fmt: skip
    if target and "accuracy" not in target:
        sentence += f" (the runs are ranked by {target})"
    return sentence + "."


def _layer_tables(directory: Path, summary: pd.DataFrame) -> list[tuple[str, Table]]:
    """Kernel-gradient std per layer and sweep point, when gradients were captured."""
    try:  # read the files once for both tables
        frames = read_captures(directory, summary, "gradients")
    except Exception:  # an optional table must never cost the report
        return []
    if not frames:
        return []
    tables = []
    for epoch, title in ((1, "after epoch 1"), ("last", "at the last epoch")):
        try:
            df = layer_stat_table(
                directory, summary, kind="gradients", stat="std", epoch=epoch, frames=frames
            )
        except Exception:  # an optional table must never cost the report
            continue
        if df is None or df.empty:
            continue
        tables.append((title, frame_table(df, "setting")))
    return tables


def _importance(summary: pd.DataFrame, target: str | None) -> Importance | None:
    """The parameter importance of an experiment of two or more axes, or None."""
    if target is None:
        return None
    try:
        return importance_data(summary, target)
    except Exception:  # an optional section must never cost the report
        return None


def _run_dir_summary(run_dir: Path) -> pd.DataFrame:
    """The summary row of one run: from its experiment's summary.csv when it is listed there
    (the swept values come with it), else from its result.json."""
    parent = run_dir.parent / store.SUMMARY_FILE
    if parent.is_file():
        try:
            summary = experiment_summary(run_dir.parent)
        except NnlabError:
            summary = pd.DataFrame()
        if "run_id" in summary.columns:
            mine = summary[[text(r) == run_dir.name for r in summary["run_id"]]]
            if len(mine):
                return mine.reset_index(drop=True)
    return experiment_summary(run_dir, [run_dir])


def _fill_diagnoses(
    summary: pd.DataFrame, results: dict[str, dict[str, Any]], run_dirs: dict[str, Path]
) -> pd.DataFrame:
    """Diagnose the finished runs that have no diagnosis (runs written before nnlab made
    one) from their history.csv, into ``results`` and the summary's ``diagnosis`` column."""
    found: dict[str, str] = {}
    for rid, res in results.items():
        label = (res.get("diagnosis") or {}).get("label")
        if label in (None, "", "unknown") and res.get("status") in (
            store.COMPLETED,
            store.DIVERGED,
        ):
            try:
                rows = read_history(run_dirs[rid] / store.HISTORY_FILE).to_dict("records")
                _, run_doc = read_config_text(run_dirs[rid] / store.CONFIG_FILE)
                regularized = diagnose.config_regularized((run_doc or {}).get("model") or {})
                res["diagnosis"] = diagnose.diagnose_result(rows, res, regularized)
            except Exception:  # an unreadable history: the run goes without a diagnosis
                continue
        if isinstance(res.get("diagnosis"), dict) and res["diagnosis"].get("label"):
            found[rid] = str(res["diagnosis"]["label"])
    if not found:
        return summary
    summary = summary.copy()
    column = summary["diagnosis"] if "diagnosis" in summary else pd.Series(None, summary.index)
    filled = [
        found.get(text(rid), "") if text(old) in ("", "unknown") else text(old)
        for old, rid in zip(column, summary["run_id"], strict=True)
    ]
    summary["diagnosis"] = [f or None for f in filled]
    return summary


def collect(directory: str | Path) -> Report:
    """Read an experiment directory (or a single run directory) into a :class:`Report`.

    Raises ``NnlabError`` when ``directory`` is neither.
    """
    directory = Path(directory)
    if store.is_run_dir(directory):
        kind, summary = "run", _run_dir_summary(directory)
        run_dirs = {directory.name: directory}
        config_file = store.CONFIG_FILE
    elif directory.is_dir() and (
        (directory / store.SUMMARY_FILE).is_file() or store.run_dirs(directory)
    ):
        kind, summary = "experiment", experiment_summary(directory)
        run_dirs = {d.name: d for d in store.run_dirs(directory)}
        config_file = store.EXPERIMENT_FILE
    else:
        raise NnlabError(
            f"{directory}: not a run or experiment directory (no summary.csv, result.json or "
            "history.csv found)"
        )
    if "run_id" not in summary.columns:
        summary = pd.DataFrame({"run_id": pd.Series(dtype=str), "status": pd.Series(dtype=str)})
    results = {
        rid: read_record(run_dirs[rid]) or {}
        for rid in (text(r) for r in summary["run_id"])
        if rid in run_dirs
    }
    summary = _fill_diagnoses(summary, results, run_dirs)
    config_yaml, doc = read_config_text(directory / config_file)

    target = target_column(summary)
    maximize = target is not None and is_maximized(target.removeprefix("best_"))
    ranked_runs = ranked(summary, target, maximize)
    run_statuses = statuses(summary)
    link = store.SUMMARY_FILE if kind == "experiment" and (
        directory / store.SUMMARY_FILE).is_file() else None  # fmt: skip
    seeds = sorted({int(s) for s in pd.to_numeric(summary.get("seed", pd.Series(dtype=float)),
                                                   errors="coerce").dropna()})  # fmt: skip
    axes = [
        (a, list(dict.fromkeys(text(v) for v in summary[a] if text(v))))
        for a in sweep_axes(summary)
    ]

    verdict = seed_verdict(summary, target) if kind == "experiment" and len(summary) else None
    grouped, grouped_note, layer_summary, layer_note = None, None, summary, None
    finals = final_columns(list(summary.columns), target)
    if verdict is not None:
        settings, gaps, settings_note = select_settings(verdict.groups, link)
        if target and any(len(g.run_ids) > 1 for g in verdict.groups):
            grouped = grouped_table(summary, verdict, target, finals, settings, gaps)
            grouped_note = settings_note
        if settings is not None:  # the layer tables too: only the settings shown
            keep = {rid for g in settings for rid in g.run_ids}
            layer_summary = summary[[text(r) in keep for r in summary["run_id"]]].reset_index(
                drop=True)  # fmt: skip
            layer_note = (f"Only the {len(settings)} best and worst of the "
                          f"{len(verdict.groups)} settings, by mean.")  # fmt: skip
    best_id = text(ranked_runs["run_id"].iat[0]) if len(ranked_runs) else None
    if best_id and text(ranked_runs["status"].iat[0] if "status" in ranked_runs else "") not in (
        store.COMPLETED,
        "",
    ):
        best_id = None  # no run completed: no best run to show
    if kind == "run":
        best_id = directory.name

    times = [(timestamp(r.get("started")), timestamp(r.get("finished"))) for r in results.values()]
    starts = [s for s, _ in times if s]
    ends = [e for _, e in times if e]
    span = None
    if starts and ends:
        first, last = min(starts), max(ends)
        same_day = first.date() == last.date()
        span = f"{first:%Y-%m-%d %H:%M} to {last:{'%H:%M' if same_day else '%Y-%m-%d %H:%M'}}"
    wall_values = pd.to_numeric(summary.get("wall_s", pd.Series(dtype=float)), errors="coerce")
    wall = None
    if wall_values.notna().any():
        wall = duration(float(wall_values.sum()))
        if starts and ends and len(results) > 1:
            wall += f" (sum of run times; {duration((max(ends) - min(starts)).total_seconds())}"
            wall += " from the first start to the last finish)"
    env_run = run_dirs.get(best_id or "") or next(iter(run_dirs.values()), None)
    env = read_env(env_run) if env_run else None
    if env is None:
        env = next((e for d in run_dirs.values() if (e := read_env(d))), None)

    name = text(doc.get("name")) or (
        directory.resolve().parent.name if kind == "run" else directory.resolve().name
    )
    title = f"{name}: run {directory.name}" if kind == "run" else name
    base = directory
    # data.validation: none leaves no validation columns: the training ones rank the runs;
    # beside runs that have them, a column all runs have does (results.target_column)
    held_out = any(str(c).startswith("final_val_") for c in summary.columns)
    mixed = held_out and target is not None and not target.startswith("best_val_")
    comparison = (
        [Image(p, _link(p, base), _caption(p.name, held_out)) for p in _images(directory, base)]
        if kind == "experiment"
        else []
    )
    best_held_out = "val_loss" in ((results.get(best_id or "") or {}).get("final") or {})
    best_plots = _run_images(run_dirs[best_id], base, best_held_out) if best_id in run_dirs else []
    best_model = _model_note(run_dirs.get(best_id or ""), results.get(best_id or ""), base)
    if kind == "run":
        note = ""
    elif target:
        better = "higher" if maximize else "lower"
        note = (f"Completed runs ranked by {target} ({better} is better), then the runs that "
                "did not complete.")  # fmt: skip
        if not held_out:
            note = (f"There is {NO_VALIDATION}: the training metric ranks the runs, so the "
                    f"ranking says how well each setting fits, not how it generalises. {note}")
        elif mixed:
            note = (f"Some runs have {NO_VALIDATION}, so {target}, which every run has, ranks "
                    f"them. {note}")
    else:
        note = "No metric to rank the runs by."
    shown, gaps, results_note = select_runs(ranked_runs, link) if kind == "experiment" else (
        None, (), None)  # fmt: skip
    layer_tables = _layer_tables(directory, layer_summary) if kind == "experiment" else []
    problems, problems_note = problem_list(ranked_runs, results, link)
    return Report(
        directory=directory,
        kind=kind,
        title=title,
        description=text(doc.get("description")) or None,
        written=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        span=span,
        config_file=config_file,
        config_yaml=config_yaml.rstrip() or "(no config file found)",
        axes=axes,
        status_counts=dict(Counter(run_statuses)),
        seeds=seeds,
        wall=wall,
        environment=_environment(env),
        target=target,
        results=results_table(ranked_runs, target, shown, gaps) if len(ranked_runs) else None,
        results_note=note,
        grouped=grouped,
        verdict=verdict,
        baseline=_baseline_sentence(majority_baseline(results.values()), target,
                                    "" if mixed else "val" if held_out else "training"),
        diagnoses=diagnosis_lines(ranked_runs, results, link),
        comparison_plots=comparison,
        best_run=best_id,
        best_run_plots=best_plots,
        best_model=best_model,
        layer_tables=layer_tables,
        problems=problems,
        results_left_out=results_note,
        grouped_left_out=grouped_note,
        layer_tables_note=layer_note if layer_tables else None,
        problems_left_out=problems_note,
        importance=_importance(summary, target) if kind == "experiment" else None,
    )
