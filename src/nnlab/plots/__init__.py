"""Plots of a run or an experiment, drawn from the files that ``store`` wrote and nothing else.

Data and drawing are apart, so the numbers can be tested without looking at pixels:

* data (numpy and pandas only, read through :mod:`nnlab.results`): :mod:`.curves` (one run's
  learning curves and decision boundary), :mod:`.comparison` (the runs of an experiment by
  sweep point), :mod:`.dynamics` (captured weights, gradients and batch losses),
  :mod:`.importance` (which swept axis decides the target: a random forest, scikit-learn
  imported when it runs);
* drawing, the only matplotlib code: :mod:`.draw`, :mod:`.draw_comparison` and
  :mod:`.draw_dynamics`, :mod:`.draw_importance`;
* :mod:`.files`: :func:`plot_run`, :func:`plot_experiment` and :func:`plot_dir` read a folder,
  compute the data, draw it under ``<folder>/plots/`` and remove the PNGs of an older drawing.
  An experiment's runs get their own plots by default up to ``PER_RUN_PLOTS_MAX`` runs.

``nnlab plot`` must start fast and never import a deep-learning backend: nothing here imports
one, and matplotlib is imported inside the drawing functions only.
"""

from nnlab.plots.comparison import (
    GroupCurve,
    HeatmapData,
    MeanCurve,
    ShownGroups,
    ValueSeries,
    curve_metrics,
    curves_log_y,
    group_curves,
    heatmap_data,
    metric_vs_value,
    shown_groups,
)
from nnlab.plots.curves import (
    TRAIN,
    VALIDATION,
    BoundaryData,
    Line,
    Panel,
    Points,
    boundary_data,
    curve_panels,
    read_boundary,
)
from nnlab.plots.dynamics import (
    BatchPanel,
    GroupLayers,
    LayerComparison,
    LayerLine,
    LayerPanel,
    SeedBand,
    batch_metrics,
    batch_panels,
    group_layer_curves,
    layer_order,
    layer_panels,
    layer_stat_table,
    read_batches,
    read_captures,
    read_layer_stats,
    steps_per_epoch,
)
from nnlab.plots.files import (
    BATCHES_PLOT,
    COMPARISON,
    DECISION_BOUNDARY_FILE,
    GRADIENTS_PLOT,
    IMPORTANCE_PLOT,
    LEARNING_CURVES_FILE,
    PER_RUN_PLOTS_MAX,
    RUNS,
    RUNS_SKIPPED,
    WEIGHTS_PLOT,
    Progress,
    available_cores,
    plot_dir,
    plot_experiment,
    plot_experiment_dynamics,
    plot_run,
    plot_run_dynamics,
    plot_runs,
    run_title,
)
from nnlab.plots.importance import AxisImportance, Importance, importance_data

__all__ = [
    "BATCHES_PLOT",
    "COMPARISON",
    "DECISION_BOUNDARY_FILE",
    "GRADIENTS_PLOT",
    "IMPORTANCE_PLOT",
    "LEARNING_CURVES_FILE",
    "PER_RUN_PLOTS_MAX",
    "RUNS",
    "RUNS_SKIPPED",
    "TRAIN",
    "VALIDATION",
    "WEIGHTS_PLOT",
    "AxisImportance",
    "BatchPanel",
    "BoundaryData",
    "GroupCurve",
    "GroupLayers",
    "HeatmapData",
    "Importance",
    "LayerComparison",
    "LayerLine",
    "LayerPanel",
    "Line",
    "MeanCurve",
    "Panel",
    "Points",
    "Progress",
    "SeedBand",
    "ShownGroups",
    "ValueSeries",
    "available_cores",
    "batch_metrics",
    "batch_panels",
    "boundary_data",
    "curve_metrics",
    "curve_panels",
    "curves_log_y",
    "group_curves",
    "group_layer_curves",
    "heatmap_data",
    "importance_data",
    "layer_order",
    "layer_panels",
    "layer_stat_table",
    "metric_vs_value",
    "plot_dir",
    "plot_experiment",
    "plot_experiment_dynamics",
    "plot_run",
    "plot_run_dynamics",
    "plot_runs",
    "read_batches",
    "read_boundary",
    "read_captures",
    "read_layer_stats",
    "run_title",
    "shown_groups",
    "steps_per_epoch",
]
