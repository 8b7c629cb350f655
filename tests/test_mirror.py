"""Run folders trained elsewhere and written here (``launchers._mirror``), and the Ray
launcher's checks that need no cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnlab import store
from nnlab.launchers._mirror import Watch, apply


def test_streamed_files_travel_as_appended_bytes_and_whole_files_whole(tmp_path: Path) -> None:
    scratch, real = tmp_path / "scratch", tmp_path / "real" / "r1"
    real.mkdir(parents=True)
    watch = Watch(scratch)
    (scratch / "r1").mkdir(parents=True)
    store.write_yaml(scratch / "r1" / store.CONFIG_FILE, {"seed": 1})
    store.write_json(scratch / "r1" / store.RESULT_FILE, {"status": "running"})
    history = store.RowFile(scratch / "r1" / store.HISTORY_FILE, ["epoch", "loss"])
    history.write([[0, 1.5]])

    first = watch.changes("r1")
    assert {c.name for c in first} == {"result.json", "history.csv"}  # not config.yaml
    apply(real, first)
    assert not (real / store.CONFIG_FILE).exists()
    assert (real / "history.csv").read_bytes() == b"epoch,loss\r\n0,1.5\r\n"

    history.write([[1, 0.75], [2, 0.5]])
    store.write_json(scratch / "r1" / store.RESULT_FILE, {"status": "completed"})
    (scratch / "r1" / "plots").mkdir()
    (scratch / "r1" / "plots" / "curves.png").write_bytes(b"\x89PNG" + bytes(range(256)))
    second = watch.changes("r1")
    rows = next(c for c in second if c.name == "history.csv")
    assert (rows.offset, rows.whole) == (len("epoch,loss\r\n0,1.5\r\n"), False)
    assert rows.data == b"1,0.75\r\n2,0.5\r\n"  # only what was appended
    apply(real, second)
    history.close()
    assert (real / "history.csv").read_bytes() == (scratch / "r1" / "history.csv").read_bytes()
    assert store.read_json(real / store.RESULT_FILE) == {"status": "completed"}
    assert (real / "plots" / "curves.png").read_bytes() == b"\x89PNG" + bytes(range(256))
    assert watch.changes("r1") == []  # nothing new: nothing sent


def test_a_file_outside_the_run_folder_is_refused(tmp_path: Path) -> None:
    from nnlab.launchers._mirror import Change

    with pytest.raises(ValueError, match="outside its run folder"):
        apply(tmp_path / "run", [Change("../evil.json", 0, b"{}", whole=True)])
    assert not (tmp_path / "evil.json").exists()


def test_launcher_ray_without_ray_installed_exits_2_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnlab.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndata: {name: circles, n_samples: 100}\ntrain: {epochs: 1}\n")
    result = CliRunner().invoke(app, ["run", str(config), "-o", str(tmp_path / "out"),
                                      "--launcher", "ray"])  # fmt: skip
    assert result.exit_code == 2
    assert "pip install" in result.output and "nnlab[ray]" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--launcher", "slurm"], "launcher: unknown value 'slurm'; valid: local, ray"),
        (["--gpus-per-run", "0.5"], "--gpus-per-run: only with --launcher ray"),
        (["--ray-address", "127.0.0.1:6379"], "--ray-address: only with --launcher ray"),
    ],
)
def test_launcher_options_are_checked_before_anything_is_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from nnlab.cli import app

    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndata: {name: circles, n_samples: 100}\ntrain: {epochs: 1}\n")
    result = CliRunner().invoke(app, ["run", str(config), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_a_ray_address_nobody_answers_at_exits_2_at_once(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    import socket

    from nnlab.cli import app

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndata: {name: circles, n_samples: 100}\ntrain: {epochs: 1}\n")
    result = CliRunner().invoke(app, ["run", str(config), "-o", str(tmp_path / "out"),
                                      "--launcher", "ray", "--ray-address",
                                      f"127.0.0.1:{port}"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"--ray-address: nothing answers at 127.0.0.1:{port}" in result.output
    assert not (tmp_path / "out").exists()


def test_a_whole_file_replaced_in_place_travels_whole_and_a_resent_tail_is_not_doubled(
    tmp_path: Path,
) -> None:
    scratch, real = tmp_path / "scratch", tmp_path / "real"
    (scratch / "r").mkdir(parents=True)
    watch = Watch(scratch)
    result = scratch / "r" / store.RESULT_FILE
    result.write_text('{"a": 1}')
    apply(real, watch.changes("r"))
    with open(result, "a") as f:  # the same inode, grown: still not an append for JSON
        f.write(" ")
    change = watch.changes("r")[0]
    assert (change.offset, change.whole) == (0, True)
    apply(real, [change])
    assert store.read_json(real / store.RESULT_FILE) == {"a": 1}

    rows = store.RowFile(scratch / "r" / store.HISTORY_FILE, ["epoch"])
    rows.write([[0]])
    first = watch.changes("r")
    rows.write([[1]])
    second = watch.changes("r")
    rows.close()
    apply(real, first)
    apply(real, second)
    apply(real, second)  # the same message twice: the tail is replaced, not doubled
    assert (real / "history.csv").read_bytes() == b"epoch\r\n0\r\n1\r\n"
