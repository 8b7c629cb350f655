"""The drawing helpers that decide a layout from numbers (``nnlab.plots.draw``)."""

from __future__ import annotations

import numpy as np

from nnlab.plots import draw


def test_value_ticks_only_where_their_labels_fit() -> None:
    assert draw.ticks_fit(np.array([1e-4, 1e-3, 1e-2]), log=True)
    assert draw.ticks_fit(np.array([16.0, 32.0, 64.0, 128.0]), log=False)
    # random-search draws: 0.00417 and 0.00481 would print on top of each other
    drawn = np.array([0.00109, 0.00163, 0.00417, 0.00481, 0.0111, 0.108, 0.137, 0.239])
    assert not draw.ticks_fit(drawn, log=True)


def png_pixels(path) -> tuple[int, int]:
    """(width, height) from the PNG header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_a_heat_map_of_many_values_stays_a_readable_size(tmp_path) -> None:
    from nnlab.plots import draw_comparison
    from nnlab.plots.comparison import HeatmapData

    rows, cols = 100, 10  # 100 learning rates x 10 batch sizes
    values = np.linspace(0.6, 0.9, rows * cols).reshape(rows, cols)
    row_labels = [f"{10 ** (-4 + k / 30):.3g}" for k in range(rows)]
    col_labels = [str(2**k) for k in range(cols)]
    data = HeatmapData("train.learning_rate", "train.batch_size", "best_val_accuracy",
                       row_labels, col_labels, values, np.full((rows, cols), 3))  # fmt: skip
    width, height = png_pixels(draw_comparison.draw_heatmap(data, "t", tmp_path / "h.png"))
    max_w, max_h = draw_comparison.HEATMAP_MAX_INCHES
    assert width <= max_w * draw.DPI and height <= max_h * draw.DPI  # not 77 inches tall


def test_a_value_series_of_many_runs_draws(tmp_path) -> None:
    import pandas as pd

    from nnlab.plots import draw_comparison
    from nnlab.plots.comparison import metric_vs_value

    n = 2 * draw_comparison.MANY_POINTS
    rng = np.random.default_rng(0)
    lrs = [repr(float(v)) for v in 10 ** rng.uniform(-4, -1, n)]
    scores = rng.uniform(0.5, 0.9, n)
    df = pd.DataFrame({"run_id": [f"r{k}" for k in range(n)], "train.learning_rate": lrs,
                       "status": "completed", "best_val_accuracy": scores})  # fmt: skip
    series = metric_vs_value(df, "train.learning_rate", "best_val_accuracy")
    assert series.n.tolist() == [1] * n and series.log_x
    target = draw_comparison.draw_value_series(
        series, series, "learning_rate", "t", tmp_path / "v.png"
    )
    assert png_pixels(target)[0] > 0
