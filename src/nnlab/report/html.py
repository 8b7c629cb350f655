"""``report.html``: a :class:`~nnlab.report.collect.Report` as one self-contained page. The
style sheet (``report.css``, package data) is inlined, every image is embedded as a base64
``data:`` URI, and there is no script and no external resource, so the file can be mailed or
archived on its own."""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from nnlab.report.cells import Note, Table
from nnlab.report.collect import Image, Report
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

CSS_FILE = "report.css"  # beside this module, shipped as package data
WIDE_IMAGE_PX = 900  # a wider plot gets the whole width of the page, not half of it


@cache
def stylesheet() -> str:
    """The page's CSS, read once from the package's ``report.css``."""
    return resources.files(__package__).joinpath(CSS_FILE).read_text(encoding="utf-8")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tag(text: str) -> str:
    return f'<span class="tag {_slug(text)}">{_e(text)}</span>' if text else ""


def _note(note: Note) -> str:
    """A note's text, escaped, with the file it names as a relative link."""
    out = _e(note.text)
    if note.link and _e(note.link) in out:
        anchor = f'<a href="{_e(note.link)}">{_e(note.link)}</a>'
        out = out.replace(_e(note.link), anchor, 1)
    return out


def _html_table(table: Table, best_first: bool = False, code: tuple[str, ...] = ("run",)) -> str:
    out = ['<div class="scroll"><table>', "<thead><tr>"]
    for col, num in zip(table.columns, table.numeric, strict=True):
        text = _e(col).replace("_", "_<wbr>")  # long metric names may break after a "_"
        out.append(f'<th class="num">{text}</th>' if num else f"<th>{text}</th>")
    out.append("</tr></thead><tbody>")
    gaps = dict(table.gaps)
    gap = '<tr><td colspan="{}" class="note">… {}</td></tr>'
    for i, row in enumerate(table.rows):
        if i in gaps:
            out.append(gap.format(len(table.columns), _note(gaps[i])))
        out.append('<tr class="best">' if best_first and i == 0 and row[0] else "<tr>")
        for col, num, cell in zip(table.columns, table.numeric, row, strict=True):
            if col in table.status_columns:
                out.append(f"<td>{_tag(cell)}</td>")
            elif col in code and cell:
                out.append(f"<td><code>{_e(cell)}</code></td>")
            else:
                out.append(f'<td class="num">{_e(cell)}</td>' if num else f"<td>{_e(cell)}</td>")
        out.append("</tr>")
    if len(table.rows) in gaps:
        out.append(gap.format(len(table.columns), _note(gaps[len(table.rows)])))
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
        f"<style>\n{stylesheet()}</style></head><body><main>",
        f"<h1>{_e(report.title)}</h1>",
    ]
    if report.description:
        h.append(f'<p class="lead">{_e(report.description)}</p>')
    h.append(f'<p class="meta">Report written {_e(report.written)} by nnlab {_e(__version__)}.</p>')
    sections = [("run", "What was run"), ("results", "Results"), ("diagnosis", "Diagnosis"),
                ("plots", "Plots"), ("problems", "Failed or diverged runs")]  # fmt: skip
    h.append("<nav>" + "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in sections) + "</nav>")

    h.append('<h2 id="run">What was run</h2><dl class="facts">')
    for key, value in facts(report):
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
        h.append(f'<div class="verdict {kind}"><h3>{_e(verdict_heading(verdict))}</h3>')
        h.append(f"<p>{_e(verdict.sentence)}</p>")
        if verdict.p is not None and verdict.column:
            h.append(f'<p class="note">{_e(verdict_note(verdict))}</p>')
        h.append("</div>")
    if report.baseline:
        h.append(f'<p class="baseline">{_e(report.baseline)}</p>')
    if report.grouped is not None:
        h.append("<h3>Per setting: mean ± std over its seeds</h3>")
        h.append('<p class="note">Completed runs only, best setting first.</p>')
        if report.grouped_left_out:
            h.append(f'<p class="note">{_note(report.grouped_left_out)}</p>')
        h.append(_html_table(report.grouped, code=()))
    if report.results is None:
        h.append("<p>No run has a result yet.</p>")
    else:
        cut = report.results_left_out
        h.append("<h3>The best and worst runs</h3>" if cut else "<h3>Every run</h3>")
        if report.results_note:
            h.append(f'<p class="note">{_e(report.results_note)}</p>')
        if cut:
            h.append(f'<p class="note">{_note(cut)}</p>')
        h.append(_html_table(report.results, best_first=True))
    if report.importance is not None:
        h.append(f"<h3>{IMPORTANCE_HEADING}</h3><p>{_e(importance_lead(report.importance))}</p>")
        if (table := importance_table(report.importance)) is not None:
            h.append(_html_table(table, code=()))
        if note := importance_note(report.importance):
            h.append(f'<p class="note">{_e(note)}</p>')

    h.append('<h2 id="diagnosis">Diagnosis</h2>')
    if not report.diagnoses:
        h.append("<p>No run has a diagnosis (failed runs get none).</p>")
    else:
        h.append('<ul class="diagnoses">')
        for line in report.diagnoses:
            first_id, reason = line.runs[0]
            n = line.n
            h.append(f"<li>{_tag(line.label)} <b>{n} run{'s' * (n != 1)}</b>: {_e(reason)}")
            if n > 1:
                h.append(f' <span class="note">(<code>{_e(first_id)}</code>)</span>')
                items = "".join(f"<li><code>{_e(r)}</code>: {_e(t)}</li>" for r, t in line.runs)
                which = "every run and its reason"
                if line.more is not None:
                    which = f"the {len(line.runs)} best-ranked runs and their reasons"
                    items += f'<li class="note">{_note(line.more)}.</li>'
                h.append(f"<details><summary>{which}</summary><ul>{items}</ul>"
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
        if report.layer_tables_note:
            h.append(f'<p class="note">{_e(report.layer_tables_note)}</p>')
        h.append(_html_table(table, code=()))
    if report.best_run_plots:
        who = "The run" if report.kind == "run" else "The best run"
        h.append(f'<h3>{who}: <code>{_e(report.best_run)}</code></h3><div class="grid">')
        h += [_figure(image) for image in report.best_run_plots]
        h.append("</div>")
    if report.best_model is not None:
        h.append(f"<p>{_note(report.best_model)}</p>")
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
        if report.problems_left_out:
            h.append(f'<p class="note">{_note(report.problems_left_out)}</p>')
    h.append("</main></body></html>")
    return "\n".join(h) + "\n"
