"""The entry points: ``diagnose`` one history, ``diagnose_result`` a finished run, and
``config_regularized`` for runs recorded before ``result.json`` said whether they were."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnlab.diagnose.facts import Facts
from nnlab.diagnose.rules import RULES, fallback_good_fit


def diagnose(
    rows: Sequence[dict[str, float]],
    *,
    diverged_epoch: int | None = None,
    baseline_accuracy: float | None = None,
    baseline_loss: float | None = None,
    regularized: bool = False,
    kept_epoch: int | None = None,
    stopped_early: bool = False,
    monitor: str = "val_loss",
) -> dict[str, Any]:
    """The diagnosis of one history: ``{"label", "reason", ...numbers}``, from the first of
    ``RULES`` that matches (``fallback_good_fit`` when none does).

    ``rows`` are history rows (epoch 0 first); ``baseline_loss``: the no-skill loss;
    ``regularized``: dropout, noise or batch norm is on (the training loss is measured with
    them active); ``kept_epoch``: early stopping restored the weights of this epoch;
    ``stopped_early``: early stopping ended the run without restoring the best weights;
    ``monitor``: the column early stopping watched.
    NaN and zero losses give no numpy warnings.
    """
    facts = Facts(rows, diverged_epoch, baseline_accuracy, baseline_loss, regularized,
                  kept_epoch, stopped_early, monitor)  # fmt: skip
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices, empty means
        for rule in RULES:
            if (found := rule(facts)) is not None:
                return found
        return fallback_good_fit(facts)


def diagnose_result(
    rows: Sequence[dict[str, float]], result: dict[str, Any], regularized: bool = False
) -> dict[str, Any] | None:
    """The diagnosis of a finished run, from its history rows and result; None for a run that
    failed or was interrupted (its error says what happened). ``result["regularized"]`` (the
    model has dropout, noise or batch-norm layers), when recorded, overrides ``regularized``."""
    if result.get("status") not in ("completed", "diverged"):
        return None
    weights_epoch = result.get("weights_epoch")
    last = int(rows[-1]["epoch"]) if rows else 0
    kept = weights_epoch if weights_epoch is not None and weights_epoch < last else None
    return diagnose(
        rows,
        diverged_epoch=result.get("diverged_epoch"),
        baseline_accuracy=result.get("baseline_accuracy"),
        baseline_loss=result.get("baseline_loss"),
        regularized=bool(result.get("regularized", regularized)),
        kept_epoch=kept,
        stopped_early=kept is None and result.get("stopped_epoch") is not None,
        monitor=str(result.get("monitor") or "val_loss"),
    )


def config_regularized(model: Mapping[str, Any]) -> bool:
    """Whether a run config's ``model`` section turns on dropout, noise or batch norm (for
    runs recorded before ``result.json`` stored ``regularized``; a custom builder's own
    layers are not seen here)."""
    return any(model.get(k) for k in ("dropout", "noise", "batch_norm"))
