"""``report.md`` and ``report.html``: what an experiment ran, which setting won and whether
that is more than seed noise, what the curves say, and every plot, in one page.

Two layers, like ``plots``: :func:`collect` reads the experiment's files (summary.csv, each
run's result.json and env.json, experiment.yaml, the PNGs) into a :class:`Report` whose tables
are already formatted, and :func:`render_markdown` and :func:`render_html` turn that one
structure into text. The HTML is self-contained: inline CSS, every image embedded as a base64
``data:`` URI, no script and no external resource, so it can be mailed or archived as a file.

Called by ``nnlab report DIR`` and at the end of ``nnlab run``/``sweep``. Imports no backend
and no matplotlib: it only reads what ``store`` and ``plots`` wrote.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import yaml

from nnlab import __version__, diagnose, dynamics_plots, store
from nnlab.compare import (
    Baseline,
    SeedVerdict,
    format_mean_std,
    format_number,
    majority_baseline,
    seed_verdict,
)
from nnlab.errors import NnlabError
from nnlab.names import is_maximized
from nnlab.plots import (
    _short_names,
    _text,
    experiment_summary,
    read_history,
    sweep_axes,
    target_column,
)

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
DIGITS = 4  # significant digits of the numbers in tables
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
PLOT_ORDER = ("curves_", "best_", "final_", "heatmap_", "gradients_", "weights_")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDE_IMAGE_PX = 900  # a wider plot gets the whole width of the page, not half of it


# ---------------------------------------------------------------------------------------------
# the facts, shared by both renderers


@dataclass
class Table:
    """A formatted table: every cell is text; ``numeric`` columns are right-aligned."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    status_columns: frozenset[str] = frozenset()  # cells shown as a coloured label in HTML


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
class DiagnosisLine:
    """One diagnosis label and the runs that got it (best-ranked first), each with its reason."""

    label: str
    runs: list[tuple[str, str]]


@dataclass
class Problem:
    """A run that did not complete: failed, diverged, interrupted or never finished."""

    run_id: str
    status: str
    epoch: str
    error: str
    traceback: str | None


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
    layer_tables: list[tuple[str, Table]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return sum(self.status_counts.values())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {s} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _number_cell(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _text(value) or "–"
    if math.isnan(x):
        return "–"
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    if math.isinf(x):
        return format_number(x)
    # trailing zeros kept (0.9800, not 0.98) so a column of numbers lines up
    return f"{x:#.{DIGITS}g}".rstrip(".")


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _read_yaml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "", {}
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    return text, doc if isinstance(doc, dict) else {}


def _caption(name: str) -> str:
    """A caption from a comparison plot's file name (``curves_val_loss.png`` ...)."""
    stem = Path(name).stem
    if stem.startswith("curves_"):
        metric = stem.removeprefix("curves_")
        return (f"{metric} of every setting against epoch: train solid, validation dashed, "
                "mean over seeds with a band of ± 1 std")  # fmt: skip
    if "_vs_" in stem:
        column, axis = stem.split("_vs_", 1)
        return f"{column} against {axis}: every run, and the mean ± std of each value"
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


def _link(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _md_url(link: str) -> str:
    """A relative path as a markdown link target (run ids may hold ``[`` ``]`` or spaces)."""
    return quote(link, safe="/=,.-_~+")


def _run_images(run_dir: Path, base: Path) -> list[Image]:
    found = {p.stem: p for p in _images(run_dir, base)}
    ordered = [found.pop(stem) for stem in RUN_PLOTS if stem in found]
    ordered += sorted(found.values())
    return [Image(p, _link(p, base), RUN_PLOTS.get(p.stem, p.stem.replace("_", " ")))
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
        device_text = _text(device)
    backend = " ".join(_text(env.get(k)) for k in ("backend", "backend_version")).strip()
    commit = _text(env.get("git_commit"))[:12]
    rows = [
        ("nnlab", _text(env.get("nnlab"))),
        ("keras", _text(env.get("keras"))),
        ("backend", backend),
        ("python", _text(env.get("python"))),
        ("device", device_text),
        ("host", _text(env.get("host"))),
        ("platform", _text(env.get("platform"))),
        ("git commit", commit),
    ]
    return [(k, v) for k, v in rows if v]


def _statuses(summary: pd.DataFrame) -> list[str]:
    """The status of each row; an empty cell is a run that never finished."""
    if "status" not in summary.columns:
        return [store.COMPLETED] * len(summary)
    return [_text(s) or store.RUNNING for s in summary["status"]]


def _ranked(summary: pd.DataFrame, target: str | None, maximize: bool) -> pd.DataFrame:
    """Completed runs by ``target``, best first, then every other run (by status)."""
    df = summary.copy()
    df["_done"] = [s != store.COMPLETED for s in _statuses(df)]
    if target is not None and target in df.columns:
        score = pd.to_numeric(df[target], errors="coerce")
        df["_score"] = -score if maximize else score
    else:
        df["_score"] = 0.0
    df["_order"] = range(len(df))
    df = df.sort_values(["_done", "_score", "_order"], na_position="last", kind="stable")
    return df.drop(columns=["_done", "_score", "_order"]).reset_index(drop=True)


def _results_table(ranked: pd.DataFrame, target: str | None) -> Table:
    axes = sweep_axes(ranked)
    short = _short_names(axes)
    finals = [c for c in ranked.columns if str(c).startswith("final_val_")]
    if target is not None and target.startswith("best_") and not target.startswith("best_val_"):
        finals = [f"final_{target.removeprefix('best_')}", *finals]
    finals = [c for c in dict.fromkeys(finals) if c in ranked.columns]
    statuses = _statuses(ranked)
    show_status = any(s != store.COMPLETED for s in statuses)  # else the run counts say it
    columns = ["#", "run", *[short[a] for a in axes], "seed", *["status"] * show_status]
    numeric = [True, False, *[False] * len(axes), True, *[False] * show_status]
    keys: list[str] = []
    if target is not None:
        keys.append(target)
    keys += [*finals, "best_epoch"]
    keys = [k for k in keys if k in ranked.columns]
    has_diagnosis = "diagnosis" in ranked.columns
    columns += keys + (["diagnosis"] if has_diagnosis else [])
    numeric += [True] * len(keys) + ([False] if has_diagnosis else [])
    rows = []
    for i in range(len(ranked)):
        row = ranked.iloc[i]
        status = statuses[i]
        cells = [str(i + 1) if status == store.COMPLETED else "", _text(row.get("run_id"))]
        cells += [_text(row.get(a)) for a in axes]
        cells += [_number_cell(row.get("seed")), *[status] * show_status]
        cells += [_number_cell(row.get(k)) for k in keys]
        if has_diagnosis:
            cells.append(_text(row.get("diagnosis")))
        rows.append(cells)
    return Table(columns, rows, numeric, frozenset({"status", "diagnosis"}))


def _grouped_table(
    summary: pd.DataFrame, verdict: SeedVerdict, target: str, finals: list[str]
) -> Table:
    """A row per sweep point (ranked as the verdict ranks them): mean ± std over its seeds."""
    by_id = {_text(r): i for i, r in enumerate(summary["run_id"])}
    statuses = _statuses(summary)
    columns = ["setting", "runs", target, *finals]
    numeric = [False, True, True, *[True] * len(finals)]
    has_diagnosis = "diagnosis" in summary.columns
    if has_diagnosis:
        columns.append("diagnoses")
        numeric.append(False)
    rows = []
    for g in verdict.groups:
        counted_rows = [by_id[r] for r in g.run_ids if r in by_id]
        done = [i for i in counted_rows if statuses[i] == store.COMPLETED]
        runs = f"{g.n} of {len(g.run_ids)}" if g.n != len(g.run_ids) else str(g.n)
        cells = [g.label, runs, format_mean_std(g.mean, g.std, DIGITS)]
        for col in finals:
            values = pd.to_numeric(summary[col].iloc[done], errors="coerce").dropna()
            std = float(values.std(ddof=1)) if len(values) > 1 else None
            cells.append(format_mean_std(float(values.mean()) if len(values) else None, std))
        if has_diagnosis:
            labels = Counter(_text(summary["diagnosis"].iat[i]) for i in counted_rows)
            labels.pop("", None)
            cells.append(", ".join(f"{k} ×{n}" if n > 1 else k for k, n in labels.items()))
        rows.append(cells)
    return Table(columns, rows, numeric)


def _baseline_sentence(baseline: Baseline | None, target: str | None) -> str | None:
    if baseline is None:
        return None
    if baseline.high - baseline.low < 5e-4:
        value = f"{baseline.mean:.2f}"
    else:
        value = f"{baseline.low:.2f} to {baseline.high:.2f} (depending on the seed's split)"
    sentence = (f"No-skill baseline: always predicting the majority class gives {value} "
                "val accuracy")  # fmt: skip
    if target and "accuracy" not in target:
        sentence += f" (the runs are ranked by {target})"
    return sentence + "."


def _diagnoses(ranked: pd.DataFrame, results: dict[str, dict[str, Any]]) -> list[DiagnosisLine]:
    lines: dict[str, DiagnosisLine] = {}
    for rid in (_text(r) for r in ranked.get("run_id", [])):
        diagnosis = (results.get(rid) or {}).get("diagnosis")
        if not isinstance(diagnosis, dict) or not diagnosis.get("label"):
            continue
        label = str(diagnosis["label"])
        line = lines.setdefault(label, DiagnosisLine(label, []))
        line.runs.append((rid, _text(diagnosis.get("reason"))))
    return list(lines.values())


def _problems(ranked: pd.DataFrame, results: dict[str, dict[str, Any]]) -> list[Problem]:
    out = []
    for rid in (_text(r) for r in ranked.get("run_id", [])):
        res = results.get(rid) or {}
        status = _text(res.get("status")) or store.RUNNING
        diagnosis = res.get("diagnosis") if isinstance(res.get("diagnosis"), dict) else {}
        if status == store.COMPLETED and diagnosis.get("label") == "diverged":
            # finite, but the loss went up: a failure too, though no NaN stopped it
            reason = _text(diagnosis.get("reason"))
            out.append(Problem(rid, "completed, loss rose", "–", reason, None))
            continue
        if status == store.COMPLETED:
            continue
        epoch = res.get("diverged_epoch") if status == store.DIVERGED else res.get("epochs_run")
        error = _text(res.get("error"))
        if not error and status == store.DIVERGED:
            error = "the loss became NaN or infinite"
        if not error and status == store.RUNNING:
            error = "no result: the run never finished (a crash?); run the experiment again"
        trace = _text(res.get("traceback")) or None
        out.append(Problem(rid, status, _number_cell(epoch), error, trace))
    return out


def _layer_tables(directory: Path, summary: pd.DataFrame) -> list[tuple[str, Table]]:
    """Kernel-gradient std per layer and sweep point, when gradients were captured."""
    try:  # read the files once for both tables
        frames = dynamics_plots.read_captures(directory, summary, "gradients")
    except Exception:  # an optional table must never cost the report
        return []
    if not frames:
        return []
    tables = []
    for epoch, title in ((1, "after epoch 1"), ("last", "at the last epoch")):
        try:
            df = dynamics_plots.layer_stat_table(
                directory, summary, kind="gradients", stat="std", epoch=epoch, frames=frames
            )
        except Exception:  # an optional table must never cost the report
            continue
        if df is None or df.empty:
            continue
        columns = ["setting", *[str(c) for c in df.columns]]
        rows = [[str(idx), *map(_number_cell, values)]
                for idx, values in zip(df.index, df.to_numpy(), strict=True)]  # fmt: skip
        tables.append((title, Table(columns, rows, [False] + [True] * len(df.columns))))
    return tables


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
            mine = summary[[_text(r) == run_dir.name for r in summary["run_id"]]]
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
                _, run_doc = _read_yaml(run_dirs[rid] / store.CONFIG_FILE)
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
        found.get(_text(rid), "") if _text(old) in ("", "unknown") else _text(old)
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
        rid: store.read_json(run_dirs[rid] / store.RESULT_FILE) or {}
        for rid in (_text(r) for r in summary["run_id"])
        if rid in run_dirs
    }
    summary = _fill_diagnoses(summary, results, run_dirs)
    config_yaml, doc = _read_yaml(directory / config_file)

    target = target_column(summary)
    maximize = target is not None and is_maximized(target.removeprefix("best_"))
    ranked = _ranked(summary, target, maximize)
    statuses = _statuses(summary)
    seeds = sorted({int(s) for s in pd.to_numeric(summary.get("seed", pd.Series(dtype=float)),
                                                   errors="coerce").dropna()})  # fmt: skip
    axes = [
        (a, list(dict.fromkeys(_text(v) for v in summary[a] if _text(v))))
        for a in sweep_axes(summary)
    ]

    verdict = seed_verdict(summary, target) if kind == "experiment" and len(summary) else None
    grouped = None
    finals = [c for c in summary.columns if str(c).startswith("final_val_")]
    if verdict is not None and target and any(len(g.run_ids) > 1 for g in verdict.groups):
        grouped = _grouped_table(summary, verdict, target, finals)
    best_id = _text(ranked["run_id"].iat[0]) if len(ranked) else None
    if best_id and _text(ranked["status"].iat[0] if "status" in ranked else "") not in (
        store.COMPLETED,
        "",
    ):
        best_id = None  # no run completed: no best run to show
    if kind == "run":
        best_id = directory.name

    times = [
        (_parse_time(r.get("started")), _parse_time(r.get("finished"))) for r in results.values()
    ]
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
        wall = _duration(float(wall_values.sum()))
        if starts and ends and len(results) > 1:
            wall += f" (sum of run times; {_duration((max(ends) - min(starts)).total_seconds())}"
            wall += " from the first start to the last finish)"
    env_run = run_dirs.get(best_id or "") or next(iter(run_dirs.values()), None)
    env = store.read_json(env_run / store.ENV_FILE) if env_run else None
    if env is None:
        env = next(
            (e for d in run_dirs.values() if (e := store.read_json(d / store.ENV_FILE))), None
        )

    name = _text(doc.get("name")) or (
        directory.resolve().parent.name if kind == "run" else directory.resolve().name
    )
    title = f"{name}: run {directory.name}" if kind == "run" else name
    base = directory
    comparison = (
        [Image(p, _link(p, base), _caption(p.name)) for p in _images(directory, base)]
        if kind == "experiment"
        else []
    )
    best_plots = _run_images(run_dirs[best_id], base) if best_id in run_dirs else []
    if kind == "run":
        note = ""
    elif target:
        better = "higher" if maximize else "lower"
        note = (f"Completed runs ranked by {target} ({better} is better), then the runs that "
                "did not complete.")  # fmt: skip
    else:
        note = "No metric to rank the runs by."
    return Report(
        directory=directory,
        kind=kind,
        title=title,
        description=_text(doc.get("description")) or None,
        written=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        span=span,
        config_file=config_file,
        config_yaml=config_yaml.rstrip() or "(no config file found)",
        axes=axes,
        status_counts=dict(Counter(statuses)),
        seeds=seeds,
        wall=wall,
        environment=_environment(env),
        target=target,
        results=_results_table(ranked, target) if len(ranked) else None,
        results_note=note,
        grouped=grouped,
        verdict=verdict,
        baseline=_baseline_sentence(majority_baseline(results.values()), target),
        diagnoses=_diagnoses(ranked, results),
        comparison_plots=comparison,
        best_run=best_id,
        best_run_plots=best_plots,
        layer_tables=_layer_tables(directory, summary) if kind == "experiment" else [],
        problems=_problems(ranked, results),
    )


def _counts_text(report: Report) -> str:
    order = [store.COMPLETED, store.DIVERGED, store.FAILED, store.INTERRUPTED, store.RUNNING]
    items = sorted(report.status_counts.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0]))  # fmt: skip
    n = report.n_runs
    if len(items) == 1:
        return f"{n}, all {items[0][0]}" if n > 1 else f"1, {items[0][0]}"
    return f"{n}: " + ", ".join(f"{c} {s}" for s, c in items) if items else "0"


def _seeds_text(report: Report) -> str | None:
    if not report.seeds:
        return None
    seeds = ", ".join(map(str, report.seeds))
    if report.kind == "run":
        return f"seed {seeds}"
    n = len(report.seeds)
    return f"{n} seed{'s' * (n != 1)} per setting ({seeds})"


def _facts(report: Report) -> list[tuple[str, str]]:
    """The "What was run" list, shared by both renderers (values are plain text)."""
    facts = []
    if report.axes:
        swept = "" if report.kind == "run" else "swept "
        facts += [(f"{swept}{axis}", ", ".join(values)) for axis, values in report.axes]
    elif report.kind == "experiment":
        facts.append(("swept", "nothing (a single setting)"))
    facts.append(("runs", _counts_text(report)))
    if seeds := _seeds_text(report):
        facts.append(("seeds", seeds))
    if report.wall:
        facts.append(("wall time", report.wall))
    if report.span:
        facts.append(("ran", report.span))
    return facts


def _verdict_heading(verdict: SeedVerdict) -> str:
    best = verdict.best.label if verdict.best is not None else None
    if best is None:
        return "Nothing to compare yet"
    if verdict.runner_up is None:
        return f"{best}: the seed noise"
    if verdict.difference == 0:
        return f"{best} and {verdict.runner_up.label} tie"
    if verdict.significant is True:
        return f"{best} is best, by more than the seed noise"
    if verdict.significant is False:
        return f"{best} leads, but within the seed noise"
    return f"{best} leads; one seed cannot tell whether that is noise"


def _test_note(verdict: SeedVerdict) -> str:
    return (
        f"Test: {verdict.test} (two-sided, unequal variances) of the best setting against the "
        f"runner-up on {verdict.column}, alpha {verdict.alpha:g}; mean ± sample std over seeds."
    )


# ---------------------------------------------------------------------------------------------
# markdown


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _md_table(table: Table, code_columns: tuple[str, ...] = ("run",)) -> list[str]:
    head = "| " + " | ".join(_md_cell(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---:" if n else "---" for n in table.numeric) + " |"
    lines = [head, rule]
    for row in table.rows:
        cells = [
            f"`{c}`" if col in code_columns and c else _md_cell(c)
            for col, c in zip(table.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return ticks


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured markdown; images linked by relative path."""
    md: list[str] = [f"# {report.title}", ""]
    if report.description:
        md += [report.description, ""]
    md += [f"Report written {report.written} by nnlab {__version__}.", ""]

    md += ["## What was run", ""]
    md += [f"- **{k}**: {v}" for k, v in _facts(report)]
    if report.environment:
        md.append("- **environment**: " + ", ".join(f"{k} {v}" for k, v in report.environment))
    fence = _fence(report.config_yaml)
    md += ["", f"`{report.config_file}`:", "", f"{fence}yaml", report.config_yaml, fence, ""]

    md += ["## Results", ""]
    if report.verdict is not None:
        md += [f"**{_verdict_heading(report.verdict)}.** {report.verdict.sentence}", ""]
        if report.verdict.p is not None and report.verdict.column:
            md += [f"_{_test_note(report.verdict)}_", ""]
    if report.baseline:
        md += [report.baseline, ""]
    if report.results is None:
        md += ["No run has a result yet.", ""]
    else:
        note = [report.results_note, ""] if report.results_note else []
        md += [*note, *_md_table(report.results), ""]
    if report.grouped is not None:
        md += ["Per setting: mean ± std over its seeds (completed runs only):", ""]
        md += [*_md_table(report.grouped, ()), ""]

    md += ["## Diagnosis", ""]
    if not report.diagnoses:
        md += ["No run has a diagnosis (failed runs get none).", ""]
    for line in report.diagnoses:
        first_id, reason = line.runs[0]
        if len(line.runs) == 1:
            md.append(f"- **{line.label}**, 1 run (`{first_id}`): {reason}.")
            continue
        md.append(f"- **{line.label}**, {len(line.runs)} runs:")
        md += [f"  - `{rid}`: {text}." for rid, text in line.runs]
    md.append("")

    md += ["## Plots", ""]
    for image in report.comparison_plots:
        md += [f"![{image.caption}]({_md_url(image.link)})", "", f"_{image.caption}_", ""]
    for title, table in report.layer_tables:
        md += [f"Std of the kernel gradients per layer, {title} (mean over seeds):", ""]
        md += [*_md_table(table, ()), ""]
    if report.best_run_plots:
        who = "The run" if report.kind == "run" else f"The best run, `{report.best_run}`"
        md += [f"{who}:", ""]
        for image in report.best_run_plots:
            md += [f"![{image.caption}]({_md_url(image.link)})", "", f"_{image.caption}_", ""]
    if not report.comparison_plots and not report.best_run_plots:
        md += ["No plots yet (`nnlab plot DIR` draws them).", ""]

    md += ["## Failed or diverged runs", ""]
    if not report.problems:
        md += ["None: every run completed.", ""]
    else:
        table = Table(
            ["run", "status", "epoch", "error"],
            [[p.run_id, p.status, p.epoch, p.error] for p in report.problems],
            [False, False, True, False],
        )
        md += [*_md_table(table), ""]
        md += ["Tracebacks are in each run's `result.json`.", ""]
    return "\n".join(md).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# html

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --zebra: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p { margin: 8px 0; }
.lead { font-size: 16px; color: var(--fg); margin: 4px 0; }
.meta, .note, figcaption { color: var(--muted); font-size: 13px; }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 16px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 12.5px; }
pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; overflow-x: auto; line-height: 1.4; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.verdict { border-radius: 8px; padding: 14px 18px; margin: 8px 0 14px; border: 1px solid; }
.verdict h3 { margin: 0 0 4px; font-size: 17px; }
.verdict p { margin: 4px 0; }
.verdict.yes { background: #dafbe1; border-color: #4ac26b; }
.verdict.no { background: #fff8c5; border-color: #d4a72c; }
.verdict.unknown { background: #ddf4ff; border-color: #54aeff; }
.baseline { margin: 6px 0 14px; }
.scroll { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13.5px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; white-space: nowrap; }
th { background: #eef1f4; font-weight: 600; white-space: normal; vertical-align: bottom; }
tbody tr:nth-child(even) { background: var(--zebra); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; min-width: 260px; }
tr.best td { font-weight: 600; }
.tag { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px;
  line-height: 20px; background: #eaeef2; color: #424a53; }
.tag.completed, .tag.good-fit { background: #dafbe1; color: #116329; }
.tag.underfit { background: #fff1c5; color: #7d4e00; }
.tag.overfit { background: #ffe2cc; color: #953800; }
.tag.unstable, .tag.diverged, .tag.failed { background: #ffebe9; color: #a40e26; }
.tag.unrepresentative-validation { background: #fbefff; color: #6e40c9; }
.tag.interrupted, .tag.running, .tag.too-short { background: #eaeef2; color: #424a53; }
ul.diagnoses { padding-left: 20px; }
ul.diagnoses li { margin: 8px 0; }
figure { margin: 16px 0 24px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
  border-radius: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr));
  gap: 8px 20px; align-items: start; }
.grid figure { margin: 8px 0; }
figure.wide { grid-column: 1 / -1; }
details { margin: 4px 0; }
details summary { cursor: pointer; color: var(--accent); font-size: 13px; }
details pre { white-space: pre-wrap; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tag(text: str) -> str:
    return f'<span class="tag {_slug(text)}">{_e(text)}</span>' if text else ""


def _html_table(table: Table, best_first: bool = False, code: tuple[str, ...] = ("run",)) -> str:
    out = ['<div class="scroll"><table>', "<thead><tr>"]
    for col, num in zip(table.columns, table.numeric, strict=True):
        text = _e(col).replace("_", "_<wbr>")  # long metric names may break after a "_"
        out.append(f'<th class="num">{text}</th>' if num else f"<th>{text}</th>")
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(table.rows):
        out.append('<tr class="best">' if best_first and i == 0 and row[0] else "<tr>")
        for col, num, cell in zip(table.columns, table.numeric, row, strict=True):
            if col in table.status_columns:
                out.append(f"<td>{_tag(cell)}</td>")
            elif col in code and cell:
                out.append(f"<td><code>{_e(cell)}</code></td>")
            else:
                out.append(f'<td class="num">{_e(cell)}</td>' if num else f"<td>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figure(image: Image) -> str:
    size = image.size
    wide = ' class="wide"' if size and size[0] > WIDE_IMAGE_PX else ""
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (
        f'<figure{wide}><img src="{_data_uri(image.path)}"{dims} alt="{_e(image.caption)}">'
        f'<figcaption>{_e(image.caption)} <span class="mono">({_e(image.link)})</span>'
        "</figcaption></figure>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: inline CSS, images as data URIs."""
    h: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}: nnlab report</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{_e(report.title)}</h1>",
    ]
    if report.description:
        h.append(f'<p class="lead">{_e(report.description)}</p>')
    h.append(f'<p class="meta">Report written {_e(report.written)} by nnlab {_e(__version__)}.</p>')
    sections = [("run", "What was run"), ("results", "Results"), ("diagnosis", "Diagnosis"),
                ("plots", "Plots"), ("problems", "Failed or diverged runs")]  # fmt: skip
    h.append("<nav>" + "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in sections) + "</nav>")

    h.append('<h2 id="run">What was run</h2><dl class="facts">')
    for key, value in _facts(report):
        h.append(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>")
    if report.environment:
        env = ", ".join(f"{k} {v}" for k, v in report.environment)
        h.append(f"<dt>environment</dt><dd>{_e(env)}</dd>")
    h.append("</dl>")
    h.append(f"<details><summary>{_e(report.config_file)}</summary>"
             f"<pre>{_e(report.config_yaml)}</pre></details>")  # fmt: skip

    h.append('<h2 id="results">Results</h2>')
    verdict = report.verdict
    if verdict is not None:
        kind = {True: "yes", False: "no"}.get(verdict.significant, "unknown")  # type: ignore[arg-type]
        h.append(f'<div class="verdict {kind}"><h3>{_e(_verdict_heading(verdict))}</h3>')
        h.append(f"<p>{_e(verdict.sentence)}</p>")
        if verdict.p is not None and verdict.column:
            h.append(f'<p class="note">{_e(_test_note(verdict))}</p>')
        h.append("</div>")
    if report.baseline:
        h.append(f'<p class="baseline">{_e(report.baseline)}</p>')
    if report.grouped is not None:
        h.append("<h3>Per setting: mean ± std over its seeds</h3>")
        h.append('<p class="note">Completed runs only, best setting first.</p>')
        h.append(_html_table(report.grouped, code=()))
    if report.results is None:
        h.append("<p>No run has a result yet.</p>")
    else:
        h.append("<h3>Every run</h3>")
        if report.results_note:
            h.append(f'<p class="note">{_e(report.results_note)}</p>')
        h.append(_html_table(report.results, best_first=True))

    h.append('<h2 id="diagnosis">Diagnosis</h2>')
    if not report.diagnoses:
        h.append("<p>No run has a diagnosis (failed runs get none).</p>")
    else:
        h.append('<ul class="diagnoses">')
        for line in report.diagnoses:
            first_id, reason = line.runs[0]
            n = len(line.runs)
            h.append(f"<li>{_tag(line.label)} <b>{n} run{'s' * (n != 1)}</b>: {_e(reason)}")
            if n > 1:
                h.append(f' <span class="note">(<code>{_e(first_id)}</code>)</span>')
                items = "".join(f"<li><code>{_e(r)}</code>: {_e(t)}</li>" for r, t in line.runs)
                h.append(f"<details><summary>every run and its reason</summary><ul>{items}</ul>"
                         "</details>")  # fmt: skip
            else:
                h.append(f' <span class="note">(<code>{_e(first_id)}</code>)</span>')
            h.append("</li>")
        h.append("</ul>")

    h.append('<h2 id="plots">Plots</h2>')
    if report.comparison_plots:
        h.append('<div class="grid">')
        h += [_figure(image) for image in report.comparison_plots]
        h.append("</div>")
    for title, table in report.layer_tables:
        h.append(f"<h3>Std of the kernel gradients per layer, {_e(title)}</h3>")
        h.append('<p class="note">Mean over the seeds of each setting; small values in the '
                 "first layers mean vanishing gradients.</p>")  # fmt: skip
        h.append(_html_table(table, code=()))
    if report.best_run_plots:
        who = "The run" if report.kind == "run" else "The best run"
        h.append(f'<h3>{who}: <code>{_e(report.best_run)}</code></h3><div class="grid">')
        h += [_figure(image) for image in report.best_run_plots]
        h.append("</div>")
    if not report.comparison_plots and not report.best_run_plots:
        h.append("<p>No plots yet (<code>nnlab plot DIR</code> draws them).</p>")

    h.append('<h2 id="problems">Failed or diverged runs</h2>')
    if not report.problems:
        h.append("<p>None: every run completed.</p>")
    else:
        h.append('<div class="scroll"><table><thead><tr><th>run</th><th>status</th>'
                 '<th class="num">epoch</th><th>error</th></tr></thead><tbody>')  # fmt: skip
        for p in report.problems:
            trace = (f"<details><summary>traceback</summary><pre>{_e(p.traceback)}</pre>"
                     "</details>" if p.traceback else "")  # fmt: skip
            h.append(f"<tr><td><code>{_e(p.run_id)}</code></td><td>{_tag(p.status)}</td>"
                     f'<td class="num">{_e(p.epoch)}</td>'
                     f'<td class="wrap">{_e(p.error)}{trace}</td></tr>')  # fmt: skip
        h.append("</tbody></table></div>")
    h.append("</main></body></html>")
    return "\n".join(h) + "\n"


def write_report(directory: str | Path) -> tuple[Path, Path]:
    """``nnlab report DIR`` and the end of a run: write ``report.md`` and ``report.html`` into
    ``directory`` (an experiment or a single run), each atomically. Returns both paths.
    Raises ``NnlabError`` when ``directory`` is not an experiment or run directory."""
    directory = Path(directory)
    report = collect(directory)
    md_path, html_path = directory / MARKDOWN_FILE, directory / HTML_FILE
    store.atomic_write_text(md_path, render_markdown(report))
    store.atomic_write_text(html_path, render_html(report))
    return md_path, html_path
