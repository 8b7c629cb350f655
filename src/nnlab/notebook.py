"""Progress in a Jupyter notebook: one cell output, updated in place, that shows the runs done
out of those to train, the run in progress with its epoch, and each finished run's line.

It needs IPython's display (which every Jupyter kernel has) and no widgets: an HTML
``<progress>`` element replaced through a display handle, at most every ``MIN_INTERVAL_S``.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any

from rich.console import Console

from nnlab.display import LineProgress, headline

MIN_INTERVAL_S = 0.25  # a sweep of fast epochs must not flood the notebook with updates
SHOWN_LINES = 8  # finished runs listed under the bar (the latest)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython with a ZMQ shell)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class NotebookProgress(LineProgress):
    """The event listener of ``nnlab.run`` in a notebook (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(Console(highlight=False, soft_wrap=True))
        self.handle: Any = None
        self.current: dict[str, tuple[int, int]] = {}  # run id -> (epoch, epochs)
        self.lines: list[str] = []
        self.shown_at = 0.0

    def start(self, total: int, todo: int) -> None:
        super().start(total, todo)
        from IPython.display import HTML, display

        self.handle = display(HTML(self.html()), display_id=True)

    def run_started(self, run_id: str, epochs: int) -> None:
        self.current[run_id] = (0, epochs)
        self.show()

    def epoch(self, run_id: str, epoch: int, logs: dict[str, Any]) -> None:
        if run_id in self.current:
            self.current[run_id] = (epoch, self.current[run_id][1])
        self.show()

    def run_finished(self, run_id: str, result: dict[str, Any]) -> None:
        self.done += 1
        self.current.pop(run_id, None)
        status = result.get("status", "?")
        extra = headline(result) if status != "failed" else result.get("error", "")
        self.lines.append(f"{run_id} {status} {result.get('epochs_run', 0)} epochs "
                          f"{result.get('wall_s', 0):.1f}s {extra}".rstrip())  # fmt: skip
        self.show(force=True)

    def stop(self) -> None:
        self.current.clear()
        self.show(force=True)

    def show(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.handle is None or (not force and now - self.shown_at < MIN_INTERVAL_S):
            return
        self.shown_at = now
        from IPython.display import HTML

        self.handle.update(HTML(self.html()))

    def html(self) -> str:
        todo = max(self.todo, 1)
        parts = [f"<div><progress value='{self.done}' max='{todo}' style='width:40%'>"
                 f"</progress> {self.done}/{self.todo} runs, "
                 f"{time.perf_counter() - self.t0:.0f}s</div>"]  # fmt: skip
        for run_id, (epoch, epochs) in list(self.current.items())[:4]:
            bar = f"<progress value='{epoch}' max='{epochs}' style='width:20%'></progress>"
            parts.append(f"<div>{bar} {html.escape(run_id)} epoch {epoch}/{epochs}</div>")
        shown = self.lines[-SHOWN_LINES:]
        if len(self.lines) > len(shown):
            parts.append(f"<div>… {len(self.lines) - len(shown)} earlier runs</div>")
        parts += [f"<div><code>{html.escape(line)}</code></div>" for line in shown]
        return "".join(parts)
