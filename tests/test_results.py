"""The reading wing's one reader (``nnlab.results``): files cut mid-write, summary cells as
written, the grouping of runs by sweep point; and that reading never imports a backend or
matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlab import results, store
from nnlab.errors import NnlabError

from helpers import HEADER, ROWS

# ---------------------------------------------------------------------------- histories


@pytest.mark.parametrize(
    ("tail", "epochs"),
    [
        pytest.param("", [0, 1, 2, 3], id="complete"),
        pytest.param("4,0.25,0.8", [0, 1, 2, 3], id="fewer_fields"),
        pytest.param("4,0.25,0.88,0.49,0.7", [0, 1, 2, 3], id="cut_mid_number"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,0.1", [0, 1, 2, 3], id="no_newline"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,", [0, 1, 2, 3], id="cut_after_comma"),
        pytest.param("4,0.25,0.8\n", [0, 1, 2, 3], id="short_line_with_newline"),
        pytest.param("4,0.25,0.88,0.49,0.70,0.01,0.1\n", [0, 1, 2, 3, 4], id="fifth_row"),
        pytest.param("\n\n", [0, 1, 2, 3], id="blank_lines"),
    ],
)
def test_read_history_drops_a_cut_last_line(tmp_path: Path, tail: str, epochs: list[int]) -> None:
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "".join(ROWS) + tail)
    df = results.read_history(path)
    assert df["epoch"].tolist() == epochs
    assert df["epoch"].dtype.kind == "i"
    numbers = df.drop(columns="epoch").to_numpy()
    assert numbers.dtype == np.float64
    assert np.isfinite(numbers).all()  # no NaN row added
    assert df["val_accuracy"].tolist()[:4] == [0.48, 0.66, 0.74, 0.72]


def test_read_history_reads_crlf_rows_as_csv_writer_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    text = (HEADER + "".join(ROWS)).replace("\n", "\r\n")
    path.write_bytes((text + "4,0.25,0.88,0.49,0.70,0.01,0.1").encode())
    df = results.read_history(path)
    assert df["epoch"].tolist() == [0, 1, 2, 3]
    assert df["epoch_seconds"].tolist() == [0.0, 0.1, 0.1, 0.1]


def test_read_history_keeps_nan_and_inf(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(HEADER + ROWS[0] + "1,nan,0.5,inf,0.5,0.01,0.1\n2,inf,nan,-inf,nan,0.01,0.1\n")
    df = results.read_history(path)
    assert len(df) == 3
    assert np.isnan(df.loc[1, "loss"]) and df.loc[1, "val_loss"] == np.inf
    assert df.loc[2, "loss"] == np.inf and df.loc[2, "val_loss"] == -np.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "no history"),
        pytest.param("", "no complete row"),
        pytest.param(HEADER, "no complete row"),
        pytest.param(HEADER + "0,0.7,0.5", "no complete row"),
        pytest.param(HEADER[:20], "no complete row"),
    ],
)
def test_read_history_errors_name_the_file(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "history.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(NnlabError) as info:
        results.read_history(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


# ---------------------------------------------------------------------------- streamed CSVs


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        pytest.param("a,b\n1,2\n3,4\n", [[1, 2], [3, 4]], id="complete"),
        pytest.param("a,b\n1,2\n3,4\n5,", [[1, 2], [3, 4]], id="cut_after_comma"),
        pytest.param("a,b\n1,2\n3,4\n5,6", [[1, 2], [3, 4]], id="no_newline"),
        pytest.param("a,b\n1,2\n3,4\n5\n", [[1, 2], [3, 4]], id="short_line"),
        pytest.param("a,b\n1,2\n3,4\n,6\n", [[1, 2], [3, 4]], id="empty_field"),
        pytest.param("a,b\n1,2\n3,4\n\n\n", [[1, 2], [3, 4]], id="blank_lines"),
    ],
)
def test_read_streamed_csv_drops_a_cut_last_line(
    tmp_path: Path, text: str, rows: list[list[int]]
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(text)
    df = results.read_streamed_csv(path, "log")
    assert list(df.columns) == ["a", "b"]
    assert df.to_numpy().tolist() == rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "no log (the run wrote none)", id="missing"),
        pytest.param("a,b\n", "no complete row in log", id="header_only"),
        pytest.param("a,b\n1,", "no complete row in log", id="first_row_cut"),
        pytest.param("a,", "no complete row in log", id="header_cut"),
    ],
)
def test_read_streamed_csv_without_a_complete_row(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "log.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(results.NothingToRead) as info:
        results.read_streamed_csv(path, "log")
    assert str(info.value) == f"{path}: {message}"
    assert isinstance(info.value, NnlabError)


# ---------------------------------------------------------------------------- summaries

AXIS_BS, AXIS_LR = "train.batch_size", "train.learning_rate"


@pytest.mark.parametrize(
    ("columns", "axes"),
    [
        pytest.param(
            ["run_id", AXIS_BS, AXIS_LR, "seed", "status", "final_loss", "best_loss"],
            [AXIS_BS, AXIS_LR],
            id="two_dotted",
        ),
        pytest.param(
            ["run_id", "variant", "seed", "status", "best_val_accuracy", "diagnosis"],
            ["variant"],
            id="variant",
        ),
        pytest.param(
            ["run_id", "model.activation", "variant", "seed", "best_epoch", "wall_s"],
            ["model.activation", "variant"],
            id="dotted_and_variant",
        ),
        pytest.param(["run_id", "seed", "status", "final_loss", "wall_s"], [], id="no_sweep"),
    ],
)
def test_sweep_axes(columns: list[str], axes: list[str]) -> None:
    assert results.sweep_axes(pd.DataFrame(columns=columns)) == axes


@pytest.mark.parametrize(
    ("columns", "target"),
    [
        pytest.param(
            ["best_loss", "best_val_loss", "best_val_auc", "best_val_accuracy"],
            "best_val_accuracy",
            id="val_accuracy_first",
        ),
        pytest.param(
            ["best_loss", "best_val_loss", "best_val_mae", "best_val_auc", "best_val_precision"],
            "best_val_auc",
            id="first_maximized_val",
        ),
        pytest.param(
            ["best_loss", "best_val_mae", "best_val_loss"], "best_val_loss", id="val_loss"
        ),
        # data.validation: none: the training metric ranks
        pytest.param(["best_loss", "best_accuracy"], "best_accuracy", id="no_validation"),
        pytest.param(["best_loss", "best_mae"], "best_loss", id="no_validation_minimized"),
        pytest.param(["run_id", "final_loss"], None, id="none"),
    ],
)
def test_target_column(columns: list[str], target: str | None) -> None:
    assert results.target_column(pd.DataFrame(columns=["run_id", *columns])) == target


def test_read_summary_keeps_swept_values_as_written(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text(
        "run_id,train.learning_rate,variant,seed,status,final_loss,best_epoch,diagnosis\n"
        "a,1e-05,batch-norm,0,completed,0.25,3,ok\n"
        "b,0.0010,plain,1,failed,,,out of memory\n"
    )
    df = results.read_summary(path)
    assert df["train.learning_rate"].tolist() == ["1e-05", "0.0010"]
    assert df["variant"].tolist() == ["batch-norm", "plain"]
    assert df["diagnosis"].tolist() == ["ok", "out of memory"]
    assert df["seed"].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(df["final_loss"], [0.25, np.nan])


def test_read_summary_text_axes_and_float_numbers(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text(
        "run_id,train.batch_size,train.learning_rate,seed,status,best_val_accuracy,wall_s\n"
        "r0,16,0.010,0,completed,0.875,1.5\n"
        "r1,full,1e-05,1,diverged,,2\n"
    )
    df = results.read_summary(path)
    assert results.sweep_axes(df) == ["train.batch_size", "train.learning_rate"]
    assert df["train.batch_size"].tolist() == ["16", "full"]
    assert df["train.learning_rate"].tolist() == ["0.010", "1e-05"]
    assert df["status"].tolist() == ["completed", "diverged"]
    for column in ("seed", "best_val_accuracy", "wall_s"):
        assert df[column].dtype == np.float64
    assert df["seed"].tolist() == [0.0, 1.0]
    assert df["wall_s"].tolist() == [1.5, 2.0]
    np.testing.assert_array_equal(df["best_val_accuracy"], [0.875, np.nan])


def test_read_summary_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text("")
    df = results.read_summary(path)
    assert list(df.columns) == ["run_id"] and df.empty
    with pytest.raises(NnlabError, match="no summary"):
        results.read_summary(tmp_path / "missing.csv")


def test_record_row_of_a_result() -> None:
    record = {
        "run_id": "r0",
        "status": "completed",
        "epochs_run": 12,
        "best_epoch": 9,
        "wall_s": 3.25,
        "final": {"loss": 0.25, "val_accuracy": 0.9},
        "best": {"val_accuracy": 0.95},
        "diagnosis": {"label": "overfitting", "detail": "..."},
    }
    assert results.record_row("r0", record) == {
        "run_id": "r0",
        "status": "completed",
        "epochs_run": 12,
        "best_epoch": 9,
        "wall_s": 3.25,
        "final_loss": 0.25,
        "final_val_accuracy": 0.9,
        "best_val_accuracy": 0.95,
        "diagnosis": "overfitting",
    }


def test_record_row_of_a_run_that_never_finished() -> None:
    assert results.record_row("r1", None) == {
        "run_id": "r1",
        "status": "running",
        "epochs_run": None,
        "best_epoch": None,
        "wall_s": None,
        "diagnosis": None,
    }


def test_summary_from_results(tmp_path: Path) -> None:
    done, failed, unfinished = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder in (done, failed, unfinished):
        folder.mkdir()
    (done / store.RESULT_FILE).write_text(
        json.dumps(
            {
                "status": "completed",
                "epochs_run": 5,
                "best_epoch": 3,
                "wall_s": 1.5,
                "final": {"loss": 0.5},
                "best": {"loss": 0.25},
                "diagnosis": {"label": "ok"},
            }
        )
    )
    (failed / store.RESULT_FILE).write_text(json.dumps({"status": "failed", "error": "OOM"}))
    df = results.summary_from_results([done, failed, unfinished])
    assert list(df.columns) == [
        "run_id", "status", "epochs_run", "best_epoch", "wall_s", "final_loss", "best_loss"
    ]  # fmt: skip
    assert df["run_id"].tolist() == ["a", "b", "c"]
    assert df["status"].tolist() == ["completed", "failed", "running"]
    np.testing.assert_array_equal(df["epochs_run"], [5.0, np.nan, np.nan])
    np.testing.assert_array_equal(df["best_loss"], [0.25, np.nan, np.nan])
    assert df["wall_s"].dtype == np.float64
    assert list(results.summary_from_results([]).columns) == ["run_id", "status"]


# ---------------------------------------------------------------------------- groups of runs


def test_groups_by_swept_values_in_first_appearance_order() -> None:
    bs, lr = "train.batch_size", "train.learning_rate"
    summary = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(6)],
            bs: ["16", "16", "256", "16", "256", "16"],
            lr: ["0.01", "0.1", "0.01", "0.01", "0.01", "0.1"],
            "seed": [0, 0, 0, 1, 1, 1],
        }
    )
    groups = results.groups(summary)
    assert [(g.index, g.label, g.rows) for g in groups] == [
        (0, "batch_size=16, learning_rate=0.01", [0, 3]),
        (1, "batch_size=16, learning_rate=0.1", [1, 5]),
        (2, "batch_size=256, learning_rate=0.01", [2, 4]),
    ]
    assert groups[2].values == {bs: "256", lr: "0.01"}


def test_groups_without_swept_axes_is_all_runs() -> None:
    summary = pd.DataFrame({"run_id": ["a", "b", "c"], "seed": [0, 1, 2]})
    (group,) = results.groups(summary)
    assert (group.index, group.label, group.values, group.rows) == (0, "all runs", {}, [0, 1, 2])


def test_group_label_of_variants_and_same_named_axes() -> None:
    axes = ["variant", "model.init", "train.init", "train.learning_rate"]
    short = results.short_names(axes)
    assert short == {
        "variant": "variant",
        "model.init": "model.init",
        "train.init": "train.init",
        "train.learning_rate": "learning_rate",
    }
    values = dict(zip(axes, ["bn", "he", "x", "0.0034567891234"], strict=True))
    assert (
        results.group_label(values, short)
        == "bn, model.init=he, train.init=x, learning_rate=0.003457"
    )


def test_counted_excludes_failed_runs_only() -> None:
    summary = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e"],
            "variant": ["x", "x", "x", "y", "y"],
            "status": ["completed", "failed", "diverged", "", "interrupted"],
        }
    )
    assert results.counted(summary).tolist() == [True, False, True, True, True]
    assert results.statuses(summary) == ["completed", "failed", "diverged", "running",
                                         "interrupted"]  # fmt: skip
    x, y = results.groups(summary)
    assert results.counted_run_ids(summary, x, {"a": 1, "b": 1}) == ["a"]
    assert results.counted_run_ids(summary, y, {"d": 1, "e": 1, "a": 1}) == ["d", "e"]
    assert results.counted(summary.drop(columns="status")).tolist() == [True] * 5


def test_numbers_and_sample_std() -> None:
    summary = pd.DataFrame({"best_loss": ["0.5", "", "1.5"]})
    np.testing.assert_array_equal(results.numbers(summary, "best_loss"), [0.5, np.nan, 1.5])
    np.testing.assert_array_equal(results.numbers(summary, "wall_s"), [np.nan] * 3)
    assert results.sample_std(np.array([1.0, 3.0])) == pytest.approx(np.sqrt(2.0))
    assert results.sample_std(np.array([4.0])) == 0.0


# ---------------------------------------------------------------------------- imports

READING_WING = """
import sys
import nnlab.compare
import nnlab.plots
import nnlab.results
heavy = ("tensorflow", "jax", "torch", "keras", "matplotlib")
print("LOADED", sorted(m for m in heavy if m in sys.modules))
"""


def test_the_reading_wing_imports_no_backend_and_no_matplotlib() -> None:
    out = subprocess.run(
        [sys.executable, "-c", READING_WING], capture_output=True, text=True, timeout=120
    )
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
