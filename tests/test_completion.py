"""Shell completion: the functions themselves, and ``nnlab`` completing through the shells'
protocol (the environment variables the installed scripts set), in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab import completion, config, names, schema

NNLAB = Path(sys.executable).parent / "nnlab"


def words(found: list[tuple[str, str]]) -> list[str]:
    return [value for value, _ in found]


def test_set_completes_dotted_keys_with_their_help():
    assert completion.set_assignments("train.lea") == [
        ("train.learning_rate=", "The optimizer's (initial) learning rate.")
    ]
    assert words(completion.set_assignments("train.early_stopping.p")) == [
        "train.early_stopping.patience="
    ]
    offered = words(completion.set_assignments(""))
    assert {"name=", "seed=", "data.name=", "model.kind=", "train.lr_schedule.every="} <= set(
        offered
    )
    assert not {"data=", "model=", "train=", "sweep="} & set(offered)


def test_the_keys_are_the_models_fields():
    """A key added to a model is offered without a list kept anywhere."""
    for section, model in (("data", config.DataConfig), ("train", config.TrainConfig)):
        for field in model.model_fields:
            assert f"{section}.{field}=" in words(completion.set_assignments(f"{section}."))
    assert set(schema.dotted_fields()) >= {"train.optimizer.name", "model.initializer.name"}


def test_set_completes_the_names_a_key_takes():
    assert words(completion.set_assignments("data.name=")) == [
        f"data.name={d}" for d in config.DATASETS
    ]
    assert words(completion.set_assignments("data.name=ci")) == [
        "data.name=cifar10",
        "data.name=circles",
    ]
    assert words(completion.set_assignments("train.optimizer=")) == [
        f"train.optimizer={o}" for o in names.OPTIMIZERS
    ]  # the Keras class names (SGD) are read too, but offered once, as config names
    assert words(completion.set_assignments("train.batch_size=f")) == ["train.batch_size=full"]
    assert words(completion.set_assignments("train.shuffle=")) == [
        "train.shuffle=true",
        "train.shuffle=false",
    ]
    assert completion.set_assignments("train.learning_rate=") == []  # a number
    assert completion.set_assignments("train.nope=") == []


def test_sweep_axes_are_the_sweepable_keys_and_values_after_each_comma():
    offered = words(completion.sweep_axes(""))
    assert "seed=" in offered and "train.learning_rate=" in offered
    assert not {"name=", "repeats=", "backend=", "sweep.mode="} & set(offered)
    assert words(completion.sweep_axes("model.activation=relu,ta")) == [
        "model.activation=relu,tanh",
        "model.activation=relu,tanh_shrink",
    ]


def test_config_files_are_yaml_files_and_folders(tmp_path, monkeypatch):
    for name in ("a.yaml", "b.yml", "notes.txt", ".hidden.yaml", "exp/one.yaml", "exp/two.yaml",
                 "deep/er/only.yaml", "empty/x.txt"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    assert completion.config_files("") == ["a.yaml", "b.yml", "deep/", "empty/", "exp/"]
    assert completion.config_files("ex") == ["exp/one.yaml", "exp/two.yaml"]  # opened
    assert completion.config_files("d") == ["deep/er/only.yaml"]  # opened, twice
    assert completion.config_files("em") == ["empty/"]
    assert completion.config_files(".") == [".hidden.yaml"]
    assert completion.config_files(f"{tmp_path}/a") == [f"{tmp_path}/a.yaml"]
    assert completion.config_files("missing/") == []


def complete(shell: str, line: str, cwd: Path | None = None) -> list[str]:
    """What ``nnlab`` offers for ``line`` (the cursor at its end), asked as the installed
    script of ``shell`` asks it."""
    env = {**os.environ, "_NNLAB_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        parts = line.split(" ")
        env |= {"COMP_WORDS": " ".join(parts), "COMP_CWORD": str(len(parts) - 1)}
    else:
        env["_TYPER_COMPLETE_ARGS"] = line
    if shell == "fish":
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    out = subprocess.run([str(NNLAB)], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_bash_completes_keys_values_and_configs():
    root = Path(__file__).resolve().parents[1]
    assert complete("bash", "nnlab run configs/circles.yaml --set train.lea") == [
        "train.learning_rate="
    ]
    # one word, as bash passes it once "=" is out of COMP_WORDBREAKS (completion.py)
    assert complete("bash", "nnlab validate x.yaml -s data.name=m") == [
        "data.name=mnist",
        "data.name=moons",
    ]
    assert complete("bash", "nnlab sweep x.yaml -p model.kind=mlp,l") == ["model.kind=mlp,lenet5"]
    assert complete("bash", "nnlab run configs/pima-b", cwd=root) == [
        "configs/pima-batch-size.yaml"
    ]
    assert complete("bash", "nnlab sch") == ["schema"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_complete_a_value_after_the_equals_sign(shell):
    offered = "\n".join(complete(shell, "nnlab run x.yaml --set data.name=ci"))
    assert "data.name=cifar10" in offered and "data.name=circles" in offered
    assert "data.name=pima" not in offered


def test_completion_is_installable_and_imports_no_backend():
    shown = subprocess.run([str(NNLAB), "--show-completion", "bash"], capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert "_NNLAB_COMPLETE=complete_bash" in shown.stdout
    code = ("import atexit, sys; atexit.register(lambda: print(sorted(m for m in ('tensorflow', "
            "'jax', 'torch', 'keras') if m in sys.modules), file=sys.stderr)); "
            "from nnlab.cli import main; sys.argv = ['nnlab']; main()")  # fmt: skip
    env = {**os.environ, "_NNLAB_COMPLETE": "complete_bash", "COMP_CWORD": "4",
           "COMP_WORDS": "nnlab run x.yaml --set data.name=c"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.stdout.split() == ["data.name=cifar10", "data.name=circles", "data.name=csv"]
    assert out.stderr.strip().splitlines()[-1] == "[]"
