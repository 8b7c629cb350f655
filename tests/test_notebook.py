"""docs/notebooks/quickstart.ipynb runs top to bottom in a Jupyter kernel (nbclient and
ipykernel, from the dev extra), on fewer epochs and seeds: the sweep, the summary, the seaborn
plot, the verdict, the saved model's predictions and a comparison figure."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("seaborn")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "quickstart.ipynb"


def outputs(cell: dict, kind: str) -> list[str]:
    """The texts of a cell's outputs of MIME type ``kind`` (or its stream text)."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and kind == "text/plain":
            found.append(out["text"])
        elif kind in out.get("data", {}):
            found.append(out["data"][kind])
    return found


def test_the_quickstart_notebook_runs_top_to_bottom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kernel inherits the environment: CI's MPLBACKEND=Agg would keep the inline backend
    # (the one a notebook has) from showing figures
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = (f"CONFIG = {str(ROOT / 'configs' / 'circles-sweep.yaml')!r}\n"
                     f"OUT = {str(tmp_path / 'runs')!r}\nEPOCHS = 4\nREPEATS = 2")  # fmt: skip
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()  # raises CellExecutionError, with the traceback, when a cell fails

    code = [c for c in nb.cells if c.cell_type == "code"]
    run_cell = next(c for c in code if "nnlab.run(" in c.source)
    shown = "".join(outputs(run_cell, "text/html"))
    assert "<progress" in shown  # the notebook's progress display
    assert "Verdict:" in shown and "circles-sweep" in shown  # the experiment's own display
    summary = (tmp_path / "runs" / "circles-sweep" / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 4 * 2  # a 2 x 2 grid, two seeds
    plot_cell = next(c for c in code if "sns.lineplot" in c.source)
    assert outputs(plot_cell, "image/png")  # seaborn drew from history()
    verdict = next(c for c in code if "verdict()" in c.source)
    assert "".join(outputs(verdict, "text/plain")).strip()
    predict = "".join(outputs(next(c for c in code if "load_model" in c.source), "text/plain"))
    probs = [float(line.rsplit("=", 1)[1]) for line in predict.splitlines() if "P(" in line]
    assert len(probs) == 4 and all(0.0 <= p <= 1.0 for p in probs)
    figure = next(c for c in code if "exp.plot(" in c.source)
    assert outputs(figure, "image/png")
