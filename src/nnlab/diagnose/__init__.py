"""What a run's learning curves say, in one label and one sentence.

The rules read history.csv (epoch 0 is the untrained model). ``RULES`` lists them in the order
they are checked: small functions, each named for what it detects, that take the ``Facts`` of
a run and give its label or None. The first label given is the diagnosis (``fallback_good_fit``
when none is). The thresholds are the constants of ``facts.py``, beside ``Facts`` (the curve
facts the rules share); the rules and ``LABELS`` are in ``rules.py``, each rule's docstring
saying how it uses the thresholds; ``diagnose``, ``diagnose_result`` and
``config_regularized`` are in ``core.py``. docs/diagnosis.md lists the rules with real runs
that show each label.

When early stopping restored the best weights, the curves are read up to the epoch whose
weights were kept. With dropout, noise or batch norm (``regularized``) the untrained loss of
epoch 0 is not compared with the training loss of epoch 1 (one is measured with them off, the
other on). Pure Python and numpy: ``nnlab report`` uses it on finished runs too.

This module only re-exports; callers use ``diagnose.diagnose`` and friends from here.
"""

from nnlab.diagnose.core import config_regularized, diagnose, diagnose_result
from nnlab.diagnose.facts import (
    ACCURACY_STEP,
    CLIMBED_BACK,
    DIVERGED_RATIO,
    EASY_VALIDATION,
    FLAT_DROP,
    LOSS_STEP,
    MIN_EPOCHS,
    MIN_SMOOTH,
    NEVER_FELL,
    NO_SKILL_LOSS,
    NO_SKILL_MARGIN,
    OSCILLATION_FLIPS,
    OVERFIT_MIN_RISE,
    OVERFIT_PATIENCE,
    OVERFIT_RISE,
    SMOOTH,
    SPIKE,
    SPIKE_MIN,
    STEADY,
    STILL_FALLING,
    STILL_FALLING_SLOPE_MIN,
    STILL_FALLING_VAL,
    TAIL,
    TRAIN_JITTER,
    Facts,
)
from nnlab.diagnose.rules import (
    LABELS,
    RULES,
    Label,
    Rule,
    fallback_good_fit,
    rule_both_oscillate,
    rule_ended_above_start,
    rule_flat_loss,
    rule_kept_best_epoch,
    rule_kept_too_few_epochs,
    rule_loss_climbed_back,
    rule_loss_jumped,
    rule_majority_class,
    rule_near_no_skill_loss,
    rule_never_fell,
    rule_no_epochs,
    rule_non_finite_loss,
    rule_overfit,
    rule_still_falling,
    rule_stopped_non_finite,
    rule_too_few_epochs,
    rule_validation_easier,
    rule_validation_oscillates,
)

__all__ = [
    "ACCURACY_STEP",
    "CLIMBED_BACK",
    "DIVERGED_RATIO",
    "EASY_VALIDATION",
    "FLAT_DROP",
    "LABELS",
    "LOSS_STEP",
    "MIN_EPOCHS",
    "MIN_SMOOTH",
    "NEVER_FELL",
    "NO_SKILL_LOSS",
    "NO_SKILL_MARGIN",
    "OSCILLATION_FLIPS",
    "OVERFIT_MIN_RISE",
    "OVERFIT_PATIENCE",
    "OVERFIT_RISE",
    "RULES",
    "SMOOTH",
    "SPIKE",
    "SPIKE_MIN",
    "STEADY",
    "STILL_FALLING",
    "STILL_FALLING_SLOPE_MIN",
    "STILL_FALLING_VAL",
    "TAIL",
    "TRAIN_JITTER",
    "Facts",
    "Label",
    "Rule",
    "config_regularized",
    "diagnose",
    "diagnose_result",
    "fallback_good_fit",
    "rule_both_oscillate",
    "rule_ended_above_start",
    "rule_flat_loss",
    "rule_kept_best_epoch",
    "rule_kept_too_few_epochs",
    "rule_loss_climbed_back",
    "rule_loss_jumped",
    "rule_majority_class",
    "rule_near_no_skill_loss",
    "rule_never_fell",
    "rule_no_epochs",
    "rule_non_finite_loss",
    "rule_overfit",
    "rule_still_falling",
    "rule_stopped_non_finite",
    "rule_too_few_epochs",
    "rule_validation_easier",
    "rule_validation_oscillates",
]
