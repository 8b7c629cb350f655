"""``nnlab validate`` checks what ``run`` checks before training, the data included, loading
each distinct data section once (a sweep of thousands of points stays fast), and never
downloads. The refusals themselves are in test_bad_input's matrix, run through both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import nnlab.data
from nnlab.cli import app

from helpers import TINY, merge

runner = CliRunner()


def validate(tmp_path: Path, doc: dict[str, Any]) -> Any:
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return runner.invoke(app, ["validate", str(config)])


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The data sections loaded (``load_dataset`` calls), in order."""
    calls: list[str] = []
    real = nnlab.data.load_dataset

    def counting(cfg: Any, seed: int) -> Any:
        calls.append(cfg.model_dump_json())
        return real(cfg, seed)

    monkeypatch.setattr(nnlab.data, "load_dataset", counting)
    return calls


def test_a_sweep_of_2000_points_loads_its_data_once(tmp_path: Path, loads: list[str]):
    rates = [round(1e-4 * (i + 1), 6) for i in range(1000)]
    sweep = {"train.learning_rate": rates, "train.batch_size": [8, 16]}
    result = validate(tmp_path, merge(TINY, {"sweep": sweep}))
    assert result.exit_code == 0, result.output
    assert "2000 runs" in result.output
    assert len(loads) == 1


def test_each_data_section_is_loaded_once_however_the_points_are_ordered(
    tmp_path: Path, loads: list[str]
):
    # grid order: the last axis changes fastest, so the data section changes at every point
    rates = [round(1e-4 * (i + 1), 6) for i in range(300)]
    sweep = {"train.learning_rate": rates, "data.noise": [0.1, 0.2, 0.3]}
    result = validate(tmp_path, merge(TINY, {"sweep": sweep}))
    assert result.exit_code == 0, result.output
    assert "900 runs" in result.output
    assert len(loads) == len(set(loads)) == 3


def test_a_bad_data_section_among_good_ones_is_named(tmp_path: Path):
    sweep = {"variants": {"many": {"data.n_samples": 200}, "few": {"data.n_samples": 3}}}
    result = validate(tmp_path, merge(TINY, {"sweep": sweep, "repeats": 2}))
    assert result.exit_code == 2, result.output
    assert "data.validation" in result.output and "3 examples" in result.output
    assert "(sweep point variant=few)" in result.output


def no_download(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("validate must not download")


@pytest.mark.parametrize("name", ["pima", "mnist", "cifar10"])
def test_validate_does_not_download_a_dataset_missing_from_the_cache(
    name: str, tmp_path: Path, data_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("NNLAB_OFFLINE")  # downloads allowed: validate still makes none
    from nnlab.data import _keras_images, _pima

    monkeypatch.setattr(_pima, "fetch", no_download)
    monkeypatch.setattr(_keras_images, "_download_mnist", no_download)
    monkeypatch.setattr(_keras_images, "_download_cifar10", no_download)
    result = validate(tmp_path, merge(TINY, {"data": {"name": name, "n_samples": None,
                                                      "noise": None}}))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"note: data.name: {name} is not in the cache yet" in result.output
    assert list(data_cache.iterdir()) == []


def test_offline_validate_refuses_an_uncached_dataset_as_run_does(
    tmp_path: Path, data_cache: Path
):
    doc = merge(TINY, {"data": {"name": "pima", "n_samples": None, "noise": None}})
    result = validate(tmp_path, doc)
    assert result.exit_code == 2, result.output
    assert "data.name: pima is not in the cache" in result.output
    assert "NNLAB_OFFLINE" in result.output


def test_the_help_says_what_validate_checks():
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "never downloads" in text and "data section is loaded once" in text


def test_the_summary_line_says_what_the_sweep_varies(tmp_path: Path):
    # variants with their own epochs, a swept dataset: the line names the range and the choices
    sweep = {"params": {"data.name": ["circles", "moons"]},
             "variants": {"short": {"train.epochs": 2}, "long": {"train.epochs": 7}}}  # fmt: skip
    result = validate(tmp_path, merge(TINY, {"sweep": sweep}))
    assert result.exit_code == 0, result.output
    assert "4 runs (circles or moons, mlp, 2 to 7 epochs)" in result.output
    one = validate(tmp_path, TINY)
    assert f"(circles, mlp, {TINY['train']['epochs']} epochs)" in one.output
