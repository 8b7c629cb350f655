"""Check in headless Chromium that an nnlab report shows every image.

Usage::

    python scripts/check_report.py REPORT_HTML [--screenshot OUT.png] [--window-size 1280,2400]
                                   [--chromium /usr/bin/chromium] [--timeout 120]

The report is copied into a fresh temporary folder (so a relative link that would only work
beside the experiment's files breaks, as it would for whoever receives the file) with a small
script injected before ``</body>``. After the window's ``load`` event the script writes into the
page how many ``<img>`` elements there are, how many loaded (``complete`` and
``naturalWidth > 0``), and how many resources the page fetched (a self-contained report fetches
none: its images are ``data:`` URIs). Chromium runs headless (``--no-sandbox``, a temporary
profile, networking extras off, ``--virtual-time-budget`` so the page finishes loading) and
``--dump-dom`` prints the page, from which the counts are read back.

Exit status: 0 every image loaded, there is at least one, and nothing was fetched; 1 the
report is broken (an image did not load, no image, or a resource fetched); 2 Chromium is
missing, failed or timed out, or the report cannot be read. With ``--screenshot`` the unmodified
report is also rendered to a PNG of the window size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=15000",
)
MARKER = "nnlab-report-check"
PROBE = f"""
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }});
  var fetched = performance.getEntriesByType("resource").map(function (r) {{ return r.name; }});
  var out = document.createElement("pre");
  out.id = "{MARKER}";
  out.textContent = "{MARKER} images=" + images.length + " loaded=" + loaded.length +
    " fetched=" + fetched.length + " " + JSON.stringify(fetched) + " end";
  document.body.appendChild(out);
}});
</script>
"""
RESULT = re.compile(MARKER + r" images=(\d+) loaded=(\d+) fetched=(\d+) (.*?) end", re.S)


@dataclass(frozen=True)
class Check:
    images: int
    loaded: int
    fetched: list[str]

    @property
    def ok(self) -> bool:
        return self.images > 0 and self.loaded == self.images and not self.fetched


class ChromiumError(RuntimeError):
    """Chromium is missing, failed, or did not report the counts."""


def _chromium(args: list[str], profile: Path, timeout: float, chromium: str) -> str:
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise ChromiumError(f"{chromium}: not found (apt-get install chromium)") from None
    except subprocess.TimeoutExpired:
        raise ChromiumError(f"chromium did not finish within {timeout:g} s") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ChromiumError(f"chromium exited {proc.returncode}: {tail}")
    return proc.stdout


def check_report(
    report: Path,
    screenshot: Path | None = None,
    window_size: str = "1280,2400",
    timeout: float = 120.0,
    chromium: str = CHROMIUM,
) -> Check:
    """Load a copy of ``report`` with the probe in headless Chromium and return the counts;
    with ``screenshot``, also save a PNG of the unmodified report. Raises ``ChromiumError``."""
    import json

    page = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="nnlab-check-") as tmp:
        folder = Path(tmp)
        probed = folder / "probed.html"
        if "</body>" in page:
            probed.write_text(page.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
        else:
            probed.write_text(page + PROBE, encoding="utf-8")
        dom = _chromium(["--dump-dom", probed.as_uri()], folder / "profile", timeout, chromium)
        found = RESULT.search(dom)
        if found is None:
            raise ChromiumError("the probe did not run (no counts in the page Chromium printed)")
        check = Check(int(found[1]), int(found[2]), list(json.loads(found[4])))
        if screenshot is not None:
            plain = folder / report.name
            shutil.copyfile(report, plain)
            target = screenshot.resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            _chromium(
                [f"--screenshot={target}", f"--window-size={window_size}", plain.as_uri()],
                folder / "profile-shot",
                timeout,
                chromium,
            )
            if not target.is_file():
                raise ChromiumError(f"chromium wrote no screenshot to {target}")
    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="the report.html to check")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the report here")
    parser.add_argument("--window-size", default="1280,2400", help="WIDTH,HEIGHT in pixels")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium binary")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per Chromium run")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: {args.report}: no such file", file=sys.stderr)
        return 2
    try:
        check = check_report(args.report, args.screenshot, args.window_size, args.timeout,
                             args.chromium)  # fmt: skip
    except (ChromiumError, OSError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.report}: {check.loaded} of {check.images} images loaded, "
          f"{len(check.fetched)} resources fetched")  # fmt: skip
    for url in check.fetched:
        print(f"  fetched: {url[:120]}")
    if args.screenshot is not None:
        print(f"screenshot: {args.screenshot}")
    if check.images == 0:
        print("broken: the report has no image", file=sys.stderr)
    elif check.loaded < check.images:
        print(f"broken: {check.images - check.loaded} image(s) did not load", file=sys.stderr)
    elif check.fetched:
        print("broken: the report fetched resources; it should embed everything", file=sys.stderr)
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
