"""The PNGs of a run or an experiment folder (``nnlab.plots.files``): tested by the files
written, never by pixels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plot_builders import (
    AXIS_BS,
    AXIS_LR,
    batches_text,
    boundary_frame,
    history,
    long_rows,
    png_size,
    summary_of,
    write_long,
    write_run,
)

from nnlab import plots, results, store
from nnlab.errors import NnlabError
from nnlab.plots import comparison

from helpers import HEADER, ROWS

# ---------------------------------------------------------------------------- one run


def test_plot_run_writes_learning_curves_and_boundary(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "lr=0.01_seed=0_abc123",
        history(lr=[1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4]),
        result={"status": "completed", "run_id": "lr=0.01_seed=0_abc123"},
        boundary=boundary_frame()[0],
    )
    written = plots.plot_run(run)
    assert written == [
        run / "plots" / "learning_curves.png",
        run / "plots" / "decision_boundary.png",
    ]
    assert all(png_size(p) > 5_000 for p in written)
    assert sorted(p.name for p in (run / "plots").iterdir()) == [
        "decision_boundary.png",
        "learning_curves.png",
    ]  # no temporary file left behind


def test_plots_of_an_older_drawing_are_removed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history(), result={"status": "completed", "run_id": "r"})
    (run / "plots").mkdir()
    (run / "plots" / "decision_boundary.png").write_bytes(b"old")  # no boundary.csv now
    (run / "plots" / "notes.txt").write_text("mine")
    assert plots.plot_run(run) == [run / "plots" / "learning_curves.png"]
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["learning_curves.png", "notes.txt"]


def test_plot_run_without_boundary_or_result_leaves_no_open_figure(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    run = write_run(tmp_path / "run", HEADER + "".join(ROWS) + "4,0.2")
    before = plt.get_fignums()
    assert plots.plot_run(run) == [run / "plots" / "learning_curves.png"]
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    "hist",
    [
        pytest.param(
            HEADER
            + ROWS[0]
            + "1,1e30,0.5,1e35,0.5,0.01,0.1\n2,-inf,0.5,inf,0.5,0.01,0.1\n"
            + "3,nan,nan,nan,nan,0.01,0.1\n",
            id="diverged_huge_inf_nan",
        ),
        pytest.param(HEADER + "0,nan,nan,nan,nan,nan,nan\n", id="all_nan_one_row"),
        pytest.param(HEADER + ROWS[0], id="epoch_0_only"),
    ],
)
def test_plot_run_survives_degenerate_histories(tmp_path: Path, hist: str) -> None:
    run = write_run(
        tmp_path / "run", hist, result={"status": "diverged", "diverged_epoch": 1, "run_id": "x"}
    )
    assert [png_size(p) > 0 for p in plots.plot_run(run)] == [True]


def test_plot_run_multiclass_boundary(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history(), boundary=boundary_frame(classes=3)[0])
    written = plots.plot_run(run)
    assert [p.name for p in written] == ["learning_curves.png", "decision_boundary.png"]
    assert png_size(written[1]) > 5_000


@pytest.mark.parametrize(
    ("result", "title"),
    [
        pytest.param({"status": "completed", "run_id": "a_1"}, "a_1", id="completed"),
        pytest.param(
            {"status": "diverged", "diverged_epoch": 7}, "run (diverged at epoch 7)", id="diverged"
        ),
        pytest.param({"status": "interrupted"}, "run (interrupted)", id="interrupted"),
        pytest.param(None, "run (unfinished: no result.json)", id="no_result"),
    ],
)
def test_run_title(tmp_path: Path, result: dict[str, object] | None, title: str) -> None:
    assert plots.run_title(tmp_path / "run", result) == title


# ---------------------------------------------------------------------------- run dynamics


def test_plot_run_dynamics_writes_what_exists(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_long(run / store.WEIGHTS_FILE, long_rows("sigmoid", 0, "weights"))
    write_long(run / store.GRADIENTS_FILE, long_rows("sigmoid", 0, "gradients"))
    (run / store.BATCHES_FILE).write_text(batches_text())
    (run / store.RESULT_FILE).write_text(json.dumps({"run_id": "r", "status": "completed"}))
    written = plots.plot_run_dynamics(run)
    assert [p.name for p in written] == ["weights.png", "gradients.png", "batches.png"]
    for p in written:
        assert p.parent == run / store.PLOTS_DIR
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_run_dynamics_missing_or_empty_files_draw_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert plots.plot_run_dynamics(run) == []
    (run / store.GRADIENTS_FILE).write_text("epoch,layer,tensor,stat,value\n")  # header only
    (run / store.WEIGHTS_FILE).write_text(
        "epoch,layer,tensor,stat,value\n0,dense1,kernel,std,nan\n0,dense1,kernel,mean,inf\n"
    )
    (run / store.BATCHES_FILE).write_text("epoch,batch,step,size,loss\n1,0,1,32,nan\n1,1,2,3")
    assert plots.plot_run_dynamics(run) == []
    assert not (run / store.PLOTS_DIR).exists()


def test_plot_run_dynamics_only_batches_of_a_diverged_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / store.BATCHES_FILE).write_text(
        "epoch,batch,step,size,loss\n1,0,1,32,1.0\n1,1,2,32,1e30\n2,0,3,32,inf\n2,1,4,32,nan\n"
    )
    assert [p.name for p in plots.plot_run_dynamics(run)] == ["batches.png"]


def test_plot_run_hook_adds_the_dynamics(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / store.HISTORY_FILE).write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.6\n2,0.4,0.5\n")
    write_long(run / store.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", epochs=2))
    names = [p.name for p in plots.plot_run(run)]
    assert names == [plots.LEARNING_CURVES_FILE, "gradients.png"]


# ---------------------------------------------------------------------------- plot_dir


def test_plot_dir_on_a_run_directory(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", history())
    assert plots.plot_dir(run) == [run / "plots" / "learning_curves.png"]


def test_plot_dir_on_an_experiment_plots_every_run(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "experiment.yaml").write_text("name: exp\n")
    names = ["bs=1_seed=0_aaa", "bs=full_seed=0_ccc"]
    for name in names:
        write_run(exp / name, history(), result={"status": "completed", "run_id": name})
    # a run that failed while building its model: result.json only, nothing to plot
    failed = exp / "bs=64_seed=0_ddd"
    failed.mkdir()
    (failed / store.RESULT_FILE).write_text(json.dumps({"status": "failed"}))
    (exp / "notes").mkdir()  # not a run

    written = plots.plot_dir(exp)
    assert written == [
        *(exp / n / "plots" / "learning_curves.png" for n in names),
        exp / "plots" / "curves_loss.png",  # no summary.csv: compared as one group of runs
        exp / "plots" / "curves_accuracy.png",
    ]
    assert all(png_size(p) > 0 for p in written)
    assert not (failed / "plots").exists()


@pytest.mark.parametrize("make", ["empty", "missing", "only_files"])
def test_plot_dir_on_something_else_is_an_error(tmp_path: Path, make: str) -> None:
    path = tmp_path / "somewhere"
    if make != "missing":
        path.mkdir()
    if make == "only_files":
        (path / "notes.txt").write_text("hello")
        (path / "sub").mkdir()
    with pytest.raises(NnlabError) as info:
        plots.plot_dir(path)
    assert str(info.value) == f"{path}: not a run or experiment directory (no history.csv found)"


def test_plotting_imports_no_backend(tmp_path: Path) -> None:
    run = write_run(tmp_path / "exp" / "run", history(2))
    code = f"""
import sys
import nnlab.plots
assert "matplotlib" not in sys.modules, "matplotlib imported at module import"
written = nnlab.plots.plot_dir({str(run.parent)!r})
names = [p.name for p in written]
assert names == ["learning_curves.png", "curves_loss.png", "curves_accuracy.png"], names
heavy = sorted({{"tensorflow", "keras", "jax", "torch"}} & set(sys.modules))
assert not heavy, heavy
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# ---------------------------------------------------------------------------- experiment


METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def fake_history(bs: float, lr: float, seed: int, epochs: int = 12) -> pd.DataFrame:
    """Plausible curves: larger learning rates learn faster, small batches overfit more."""
    rng = np.random.default_rng(seed)
    t = np.arange(epochs)
    speed = 0.15 + 3.0 * lr + 0.04 * np.log2(256 / bs)
    loss = 0.7 * np.exp(-speed * t) + 0.15 + rng.normal(0, 0.01, epochs)
    overfit = 0.004 * (64 / bs) * np.maximum(t - 4, 0) ** 1.5
    val_loss = loss + 0.05 + overfit + rng.normal(0, 0.015, epochs)
    return pd.DataFrame(
        {
            "epoch": t,
            "loss": loss,
            "accuracy": 1.0 - 0.6 * loss,
            "val_loss": val_loss,
            "val_accuracy": 1.0 - 0.6 * val_loss,
            "learning_rate": lr,
            "epoch_seconds": 0.1,
        }
    )


def write_experiment(
    root: Path, points: list[dict[str, str]], repeats: int, summary_file: bool = True
) -> tuple[Path, list[str]]:
    """Run folders (history.csv + result.json) and a summary.csv, as the sweep writes them."""
    exp = root / "pima-batch-size"
    exp.mkdir(parents=True)
    (exp / "experiment.yaml").write_text("name: pima-batch-size\n")
    rows = []
    for point in points:
        for seed in range(repeats):
            words = "_".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items())
            run_id = f"{words}_seed={seed}_{abs(hash(words)) % 4096:03x}"
            bs = float(point.get(AXIS_BS, 64))
            lr = float(point.get(AXIS_LR, 0.01))
            hist = fake_history(bs, lr, seed)
            final = {m: float(hist[m].iloc[-1]) for m in METRICS}
            best = {m: float(hist[m].max() if "acc" in m else hist[m].min()) for m in METRICS}
            result = {"run_id": run_id, "status": "completed", "final": final, "best": best}
            write_run(exp / run_id, hist, result=result)
            row = {"run_id": run_id, **point, "seed": seed, "status": "completed"}
            row |= {f"final_{m}": v for m, v in final.items()}
            row |= {f"best_{m}": v for m, v in best.items()}
            rows.append(row | {"best_epoch": 3, "wall_s": 1.5, "diagnosis": ""})
    if summary_file:
        pd.DataFrame(rows).to_csv(exp / store.SUMMARY_FILE, index=False)
    return exp, [r["run_id"] for r in rows]


GRID_2X2 = [
    {AXIS_BS: bs, AXIS_LR: lr} for bs in ("16", "256") for lr in ("0.01", "0.1")
]  # fmt: skip


CURVES = ["curves_loss.png", "curves_accuracy.png"]


def test_plot_experiment_of_a_2x2_grid_with_repeats(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, GRID_2X2, repeats=2)
    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [
        *CURVES,
        "best_val_accuracy_vs_batch_size.png",
        "best_val_accuracy_vs_learning_rate.png",
        "heatmap_best_val_accuracy.png",
        "importance.png",  # 2 axes, 8 completed runs
    ]
    assert all(p.parent == exp / "plots" and png_size(p) > 10_000 for p in written)
    assert sorted(p.name for p in (exp / "plots").iterdir()) == sorted(p.name for p in written)


def test_plot_experiment_of_a_learning_rate_sweep(tmp_path: Path) -> None:
    points = [{AXIS_LR: lr} for lr in ("1e-05", "0.001", "0.1")]
    exp, run_ids = write_experiment(tmp_path, points, repeats=1)
    # an older run of another config: a folder, but not in summary.csv
    write_run(exp / "learning_rate=3_seed=0_old", fake_history(64, 3.0, 0))
    summary_df = results.read_summary(exp / store.SUMMARY_FILE)
    series = comparison.metric_vs_value(summary_df, AXIS_LR, "best_val_accuracy")
    assert series.log_x is True
    histories = results.read_histories(exp, summary_df)
    assert sorted(histories) == sorted(run_ids)
    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]


def test_plot_experiment_survives_a_failed_run_without_history(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, [{AXIS_BS: "16"}, {AXIS_BS: "256"}], repeats=1)
    failed = exp / "batch_size=full_seed=0_f00"
    failed.mkdir()
    (failed / store.RESULT_FILE).write_text(json.dumps({"status": "failed", "error": "OOM"}))
    df = pd.read_csv(exp / store.SUMMARY_FILE, dtype=str, keep_default_na=False)
    row = dict.fromkeys(df.columns, "") | {
        "run_id": failed.name, AXIS_BS: "full", "seed": "0", "status": "failed"
    }  # fmt: skip
    pd.concat([df, pd.DataFrame([row])]).to_csv(exp / store.SUMMARY_FILE, index=False)

    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_batch_size.png"]
    series = comparison.metric_vs_value(
        results.read_summary(exp / "summary.csv"), AXIS_BS, "best_loss"
    )
    assert series.labels == ["16", "256", "full"] and series.n.tolist() == [1, 1, 0]


def test_plot_experiment_without_summary_uses_result_json(tmp_path: Path) -> None:
    exp, run_ids = write_experiment(tmp_path, [{}], repeats=3, summary_file=False)
    df = results.experiment_summary(exp)
    assert results.sweep_axes(df) == []
    assert df["run_id"].tolist() == sorted(run_ids)
    assert df["status"].tolist() == ["completed"] * 3
    assert np.isfinite(df["best_val_accuracy"]).all()
    (group,) = comparison.group_curves(df, results.read_histories(exp, df), "loss")
    assert (group.label, group.n_runs) == ("all runs", 3)
    assert [p.name for p in plots.plot_experiment(exp)] == CURVES


def test_plot_experiment_with_nothing_to_compare(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / store.SUMMARY_FILE).write_text("run_id,train.batch_size,seed,status,final_loss\n")
    assert plots.plot_experiment(exp) == []
    (exp / store.SUMMARY_FILE).write_text("run_id,seed,status,best_loss\nr,0,failed,\n")
    assert plots.plot_experiment(exp) == []


def test_plot_experiment_dynamics_files(experiment: Path) -> None:
    written = plots.plot_experiment_dynamics(experiment, summary_of(experiment))
    assert [p.name for p in written] == ["gradients_std.png", "weights_std.png",
                                         "gradients_mean.png"]  # fmt: skip
    for p in written:
        assert p.parent == experiment / store.PLOTS_DIR
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_experiment_dynamics_only_gradients(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    write_long(exp / "r0" / store.GRADIENTS_FILE, long_rows("tanh", 0, "gradients", 1))
    summary = pd.DataFrame({"run_id": ["r0", "r1"], "status": ["completed", "completed"]})
    written = plots.plot_experiment_dynamics(exp, summary)
    assert [p.name for p in written] == ["gradients_std.png", "gradients_mean.png"]
    assert plots.plot_experiment_dynamics(tmp_path / "empty", summary) == []
    assert plots.plot_experiment_dynamics(exp, pd.DataFrame()) == []


def test_plot_experiment_hook(experiment: Path) -> None:
    for rid in summary_of(experiment)["run_id"]:
        (experiment / rid).mkdir(exist_ok=True)
        (experiment / rid / store.HISTORY_FILE).write_text("epoch,loss\n0,1.0\n1,0.5\n")
    names = {p.name for p in plots.plot_experiment(experiment)}
    assert {"gradients_std.png", "weights_std.png", "gradients_mean.png"} <= names
    assert "curves_loss.png" in names


# ---------------------------------------------------------------------------- large sweeps


def lr_points(n: int) -> list[dict[str, str]]:
    return [{AXIS_LR: f"{0.001 * (k + 1):.3f}"} for k in range(n)]


def fake_plot_run(run: Path) -> list[Path]:
    """Stands in for the drawing of a run's plots, which these tests only count."""
    target = run / store.PLOTS_DIR / plots.LEARNING_CURVES_FILE
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"png")
    return [target]


def run_pngs(exp: Path) -> list[Path]:
    return sorted(exp.glob(f"*/{store.PLOTS_DIR}/*.png"))


@pytest.mark.parametrize(("points", "repeats"), [(17, 3), (51, 1)], ids=["17x3", "51x1"])
def test_plot_dir_past_the_threshold_draws_only_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, points: int, repeats: int
) -> None:
    assert plots.PER_RUN_PLOTS_MAX == 50
    monkeypatch.setattr(plots.files, "plot_run", fake_plot_run)
    exp, run_ids = write_experiment(tmp_path, lr_points(points), repeats)
    assert len(run_ids) == 51
    stale = exp / run_ids[0] / store.PLOTS_DIR / "learning_curves.png"
    stale.parent.mkdir()
    stale.write_bytes(b"an older drawing")
    seen: list[tuple[str, int, int]] = []

    written = plots.plot_dir(exp, progress=lambda *a: seen.append(a), workers=1)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]
    assert all(p.parent == exp / store.PLOTS_DIR for p in written)
    assert run_pngs(exp) == [stale] and stale.read_bytes() == b"an older drawing"
    assert seen == [("comparison", 0, 1), ("comparison", 1, 1), ("runs skipped", 0, 51)]

    written = plots.plot_dir(exp, runs=True, workers=1)
    assert len(run_pngs(exp)) == 51 and stale.read_bytes() == b"png"
    assert written[:51] == [exp / rid / "plots" / "learning_curves.png" for rid in sorted(run_ids)]
    assert [p.name for p in written[51:]] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]


def test_the_threshold_counts_the_runs_of_the_current_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folders an older config left, and runs that never wrote a history, do not make a sweep
    large: as in training, the runs of summary.csv are counted."""
    import shutil

    monkeypatch.setattr(plots.files, "plot_run", fake_plot_run)
    exp, run_ids = write_experiment(tmp_path, lr_points(30), repeats=1)
    for rid in run_ids[:25]:  # what an earlier config of the same experiment left
        shutil.copytree(exp / rid, exp / f"old-{rid}")
    assert len(store.run_dirs(exp)) == 55
    seen: list[tuple[str, int, int]] = []
    plots.plot_dir(exp, progress=lambda *a: seen.append(a), workers=1)
    assert len(run_pngs(exp)) == 55 and ("runs", 55, 55) in seen


def test_plot_dir_up_to_the_threshold_draws_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots.files, "plot_run", fake_plot_run)
    exp, run_ids = write_experiment(tmp_path, lr_points(25), repeats=2)
    assert len(run_ids) == plots.PER_RUN_PLOTS_MAX
    written = plots.plot_dir(exp, workers=1)
    assert len(run_pngs(exp)) == 50
    assert [p.name for p in written[50:]] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]


def test_plot_dir_draws_the_comparison_before_the_runs(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, [{AXIS_BS: "16"}, {AXIS_BS: "256"}], repeats=2)
    seen: list[tuple[str, int, int, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        comparison_pngs = len(list((exp / store.PLOTS_DIR).glob("*.png")))
        seen.append((stage, done, total, comparison_pngs, len(run_pngs(exp))))

    written = plots.plot_dir(exp, progress=progress, workers=1)
    assert seen == [
        ("comparison", 0, 1, 0, 0),
        ("comparison", 1, 1, 3, 0),  # the comparison plots are written, no run's yet
        ("runs", 0, 4, 3, 0),
        ("runs", 1, 4, 3, 1),
        ("runs", 2, 4, 3, 2),
        ("runs", 3, 4, 3, 3),
        ("runs", 4, 4, 3, 4),
    ]
    assert len(written) == 4 + 3  # each run's, then the experiment's, as before


def test_parallel_drawing_writes_the_same_files_as_serial(tmp_path: Path) -> None:
    exp, _ = write_experiment(tmp_path, [{AXIS_BS: "16"}, {AXIS_BS: "256"}], repeats=2)
    folders = store.run_dirs(exp)
    serial = plots.plot_runs(folders, workers=1)
    drawn = {p: p.read_bytes() for p in serial}
    for p in serial:
        p.unlink()
    seen: list[tuple[str, int, int]] = []
    parallel = plots.plot_runs(folders, progress=lambda *a: seen.append(a), workers=2)
    assert parallel == serial == [f / "plots" / "learning_curves.png" for f in folders]
    assert {p: p.read_bytes() for p in parallel} == drawn
    assert seen == [("runs", k, 4) for k in range(5)]


def test_plot_experiment_of_many_settings_reads_only_the_shown_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp, _ = write_experiment(tmp_path, lr_points(24), repeats=1)
    read: list[Path] = []
    read_history = results.read_history

    def reading(path: Path) -> pd.DataFrame:
        read.append(Path(path))
        return read_history(path)

    monkeypatch.setattr(results, "read_history", reading)
    written = plots.plot_experiment(exp)
    assert [p.name for p in written] == [*CURVES, "best_val_accuracy_vs_learning_rate.png"]
    shown = comparison.shown_groups(summary_of(exp))
    assert len(read) == 15 == len(shown.groups)
    assert {p.parent.name for p in read} == {
        summary_of(exp)["run_id"].iat[g.rows[0]] for g in shown.groups
    }


def test_the_run_end_hook_draws_up_to_the_threshold() -> None:
    from nnlab import hooks

    assert hooks.run_end(1) is hooks.plot_run
    assert hooks.run_end(plots.PER_RUN_PLOTS_MAX) is hooks.plot_run
    # past it no plots: only the TensorBoard files, when runs ask for them
    assert hooks.run_end(plots.PER_RUN_PLOTS_MAX + 1) is None
    assert hooks.run_end(plots.PER_RUN_PLOTS_MAX + 1, tensorboard=True) is hooks.tensorboard_run


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_drawing_workers_leave_when_their_command_is_killed(tmp_path: Path) -> None:
    """kill -9 of `nnlab plot --runs` (or the out-of-memory killer) must not leave its drawing
    processes waiting on their queue for ever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    exp, _ = write_experiment(tmp_path, lr_points(24), repeats=1)
    proc = subprocess.Popen([sys.executable, "-m", "nnlab", "plot", str(exp), "--runs"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def children() -> list[int]:
        out = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == proc.pid and b"spawn_main" in cmdline:
                out.append(int(entry.name))
        return out

    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(children()) < 2:
        time.sleep(0.05)
    workers = children()
    assert workers and proc.poll() is None, "the drawing workers never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 30

    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if running(p)]
    assert alive == [], f"drawing workers left running: {alive}"
