"""``report.md``: a :class:`~nnlab.report.collect.Report` as GitHub-flavoured markdown, every
image linked by its path relative to the report."""

from __future__ import annotations

from urllib.parse import quote

from nnlab.report.cells import Note, Table
from nnlab.report.collect import Report
from nnlab.report.facts import (
    IMPORTANCE_HEADING,
    facts,
    importance_lead,
    importance_note,
    importance_table,
    verdict_heading,
    verdict_note,
)
from nnlab.version import __version__


def _md_url(link: str) -> str:
    """A relative path as a markdown link target (run ids may hold ``[`` ``]`` or spaces)."""
    return quote(link, safe="/=,.-_~+")


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _md_note(note: Note) -> str:
    """A note's text with the file it names as a markdown link."""
    out = note.text.replace("\n", " ")
    if note.link and note.link in out:
        out = out.replace(note.link, f"[{note.link}]({_md_url(note.link)})", 1)
    return out


def _md_gap(table: Table, note: Note) -> str:
    """A row saying what a long table leaves out: its text in the first text column."""
    at = next((i for i, n in enumerate(table.numeric) if not n), 0)
    cells = ["…"] * at + [f"_{_md_note(Note(_md_cell(note.text), note.link))}_"]
    cells += [" "] * (len(table.columns) - at - 1)
    return "| " + " | ".join(cells) + " |"


def _md_table(table: Table, code_columns: tuple[str, ...] = ("run",)) -> list[str]:
    head = "| " + " | ".join(_md_cell(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---:" if n else "---" for n in table.numeric) + " |"
    lines = [head, rule]
    gaps = dict(table.gaps)
    for i, row in enumerate(table.rows):
        if i in gaps:
            lines.append(_md_gap(table, gaps[i]))
        cells = [
            f"`{c}`" if col in code_columns and c else _md_cell(c)
            for col, c in zip(table.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(table.rows) in gaps:
        lines.append(_md_gap(table, gaps[len(table.rows)]))
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
    md += [f"- **{k}**: {v}" for k, v in facts(report)]
    if report.environment:
        md.append("- **environment**: " + ", ".join(f"{k} {v}" for k, v in report.environment))
    fence = _fence(report.config_yaml)
    md += ["", f"`{report.config_file}`:", "", f"{fence}yaml", report.config_yaml, fence, ""]

    md += ["## Results", ""]
    if report.verdict is not None:
        md += [f"**{verdict_heading(report.verdict)}.** {report.verdict.sentence}", ""]
        if report.verdict.p is not None and report.verdict.column:
            md += [f"_{verdict_note(report.verdict)}_", ""]
    if report.baseline:
        md += [report.baseline, ""]
    if report.results is None:
        md += ["No run has a result yet.", ""]
    else:
        note = [report.results_note, ""] if report.results_note else []
        if report.results_left_out:
            note += [_md_note(report.results_left_out), ""]
        md += [*note, *_md_table(report.results), ""]
    if report.grouped is not None:
        md += ["Per setting: mean ± std over its seeds (completed runs only):", ""]
        if report.grouped_left_out:
            md += [_md_note(report.grouped_left_out), ""]
        md += [*_md_table(report.grouped, ()), ""]
    if report.importance is not None:
        md += [f"### {IMPORTANCE_HEADING}", "", importance_lead(report.importance), ""]
        if (table := importance_table(report.importance)) is not None:
            md += [*_md_table(table, ()), ""]
        if note := importance_note(report.importance):
            md += [f"_{note}_", ""]

    md += ["## Diagnosis", ""]
    if not report.diagnoses:
        md += ["No run has a diagnosis (failed runs get none).", ""]
    for line in report.diagnoses:
        first_id, reason = line.runs[0]
        if len(line.runs) == 1:
            md.append(f"- **{line.label}**, 1 run (`{first_id}`): {reason}.")
            continue
        if line.more is None:
            md.append(f"- **{line.label}**, {len(line.runs)} runs:")
        else:
            md.append(f"- **{line.label}**, {line.n} runs; the {len(line.runs)} best-ranked:")
        md += [f"  - `{rid}`: {text}." for rid, text in line.runs]
        if line.more is not None:
            md.append(f"  - {_md_note(line.more)}.")
    md.append("")

    md += ["## Plots", ""]
    for image in report.comparison_plots:
        md += [f"![{image.caption}]({_md_url(image.link)})", "", f"_{image.caption}_", ""]
    for title, table in report.layer_tables:
        md += [f"Std of the kernel gradients per layer, {title} (mean over seeds):", ""]
        if report.layer_tables_note:
            md += [report.layer_tables_note, ""]
        md += [*_md_table(table, ()), ""]
    if report.best_run_plots:
        who = "The run" if report.kind == "run" else f"The best run, `{report.best_run}`"
        md += [f"{who}:", ""]
        for image in report.best_run_plots:
            md += [f"![{image.caption}]({_md_url(image.link)})", "", f"_{image.caption}_", ""]
    if report.best_model is not None:
        md += [_md_note(report.best_model), ""]
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
        if report.problems_left_out:
            md += [_md_note(report.problems_left_out), ""]
        md += ["Tracebacks are in each run's `result.json`.", ""]
    return "\n".join(md).rstrip() + "\n"
