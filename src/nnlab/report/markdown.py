"""``report.md``: a :class:`~nnlab.report.collect.Report` as GitHub-flavoured markdown, every
image linked by its path relative to the report."""

from __future__ import annotations

from urllib.parse import quote

from nnlab import __version__
from nnlab.report.cells import Table
from nnlab.report.collect import Report
from nnlab.report.facts import facts, verdict_heading, verdict_note


def _md_url(link: str) -> str:
    """A relative path as a markdown link target (run ids may hold ``[`` ``]`` or spaces)."""
    return quote(link, safe="/=,.-_~+")


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
