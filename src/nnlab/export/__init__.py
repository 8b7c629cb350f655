"""Finished runs, written for the tools users already compare runs in: TensorBoard event files
(``export.tensorboard``, also what ``train.tensorboard`` writes as runs end) and MLflow runs
(``export.mlflow``). Reads run folders through ``results``; trains nothing and imports no
deep-learning backend."""
