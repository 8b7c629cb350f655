"""``nnlab report DIR`` and the end of ``nnlab run``/``sweep``: collect once, render twice,
write both files."""

from __future__ import annotations

from pathlib import Path

from nnlab import store
from nnlab.report.collect import collect
from nnlab.report.html import render_html
from nnlab.report.markdown import render_markdown

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


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
