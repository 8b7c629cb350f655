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
