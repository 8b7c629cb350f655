"""report.html (nnlab.report.html): self-contained, escaped, its style sheet from the
package data, and every image loading in headless Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from nnlab import report
from nnlab.report import html as html_module

ROOT = Path(__file__).resolve().parents[2]
CHECK_SCRIPT = ROOT / "scripts" / "check_report.py"
CHROMIUM = Path("/usr/bin/chromium")
DATA_PNG = '<img src="data:image/png;base64,'


def test_html_embeds_every_image_and_nothing_external(experiment):
    _, html_path = report.write_report(experiment)
    page = html_path.read_text()
    pngs = list(experiment.rglob("*.png"))
    assert len(pngs) == 4
    assert page.count(DATA_PNG) == 4
    assert page.count("<img ") == 4
    assert not re.search(r'(src|href)="(?!data:|#)', page), "an external or relative reference"
    assert "http://" not in page and "https://" not in page and "file:" not in page
    assert "<script" not in page and "<link" not in page
    assert "Which activation? &lt;b&gt;tanh&lt;/b&gt; &amp; co" in page  # escaped
    assert "<b>tanh</b>" not in page
    # the traceback only inside a <details>
    before, _, after = page.partition("<details><summary>traceback</summary><pre>Traceback")
    assert after and "Traceback" not in before
    assert "Welch&#x27;s t-test p = " in page and 'class="verdict yes"' in page


def test_the_style_sheet_is_package_data_inlined_into_the_page(experiment):
    css = resources.files("nnlab.report").joinpath("report.css").read_text(encoding="utf-8")
    assert ".verdict.yes { background: #dafbe1; border-color: #4ac26b; }" in css
    assert html_module.stylesheet() == css
    page = report.render_html(report.collect(experiment))
    assert page.count("<style>") == 1 and f"<style>\n{css}</style></head>" in page
    assert "tr.best td { font-weight: 600; }" in page and 'class="verdict yes"' in page


def test_the_style_sheet_ships_in_the_wheel():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["nnlab"]
    assert "report/*.css" in patterns
    assert (ROOT / "src" / "nnlab" / "report" / "report.css").is_file()


def check(html: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECK_SCRIPT), str(html), *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium")
def test_chromium_loads_every_image_and_catches_a_broken_one(experiment, tmp_path):
    _, html_path = report.write_report(experiment)
    shot = tmp_path / "shot.png"
    ok = check(html_path, "--screenshot", str(shot), "--window-size", "800,1200")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4 of 4 images loaded, 0 resources fetched" in ok.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    page = html_path.read_text()
    corrupt = tmp_path / "corrupt.html"
    corrupt.write_text(re.sub(r"base64,[A-Za-z0-9+/]{40}", "base64,!!notapng!!", page, count=1))
    bad = check(corrupt)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "3 of 4 images loaded" in bad.stdout and "1 image(s) did not load" in bad.stderr

    # a relative link works beside the experiment's files but not in the file sent to someone
    relative = experiment / "relative.html"
    relative.write_text(page.replace(DATA_PNG, '<img src="plots/curves_loss.png" data-x="', 1))
    assert (experiment / "plots" / "curves_loss.png").is_file()
    assert check(relative).returncode == 1

    none = tmp_path / "none.html"
    none.write_text("<html><body><p>no images</p></body></html>")
    assert check(none).returncode == 1
    assert check(tmp_path / "missing.html").returncode == 2


@pytest.mark.slow
def test_chromium_script_reports_a_missing_browser(experiment, tmp_path):
    _, html_path = report.write_report(experiment)
    out = check(html_path, "--chromium", str(tmp_path / "no-chromium"))
    assert out.returncode == 2 and "not found" in out.stderr
