"""``report.md`` and ``report.html``: what an experiment ran, which setting won and whether
that is more than seed noise, what the curves say, and every plot, in one page.

Two layers, like ``plots``: :func:`collect` (``collect.py``, with the tables formatted in
``cells.py``) reads the experiment's files (summary.csv, each run's result.json and env.json,
experiment.yaml, the PNGs) into a :class:`Report` whose tables are already text, and
:func:`render_markdown` (``markdown.py``) and :func:`render_html` (``html.py``, with the style
sheet ``report.css`` as package data) turn that one structure into a page. The HTML is
self-contained: inline CSS, every image embedded as a base64 ``data:`` URI, no script and no
external resource, so it can be mailed or archived as a file.

A sweep of thousands of runs gets a bounded report: above a limit the tables and lists show
the best and worst runs and settings, the failures and a few examples of each diagnosis, and
say how many they left out, with a relative link to ``summary.csv`` beside the report (which
holds every run); the limits and the rules are in ``runs.py``. Up to 50 runs nothing is cut.

Called by ``nnlab report DIR`` and at the end of ``nnlab run``/``sweep`` (:func:`write_report`,
``write.py``). Imports no backend and no matplotlib: it only reads what ``store`` and
``plots`` wrote, through :mod:`nnlab.results`.

This module only re-exports; callers use ``report.write_report`` and friends from here.
"""

from nnlab.report.cells import Note, Table
from nnlab.report.collect import DiagnosisLine, Image, Problem, Report, collect
from nnlab.report.html import render_html
from nnlab.report.markdown import render_markdown
from nnlab.report.write import HTML_FILE, MARKDOWN_FILE, write_report

__all__ = [
    "HTML_FILE",
    "MARKDOWN_FILE",
    "DiagnosisLine",
    "Image",
    "Note",
    "Problem",
    "Report",
    "Table",
    "collect",
    "render_html",
    "render_markdown",
    "write_report",
]
