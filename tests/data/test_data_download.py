"""_download: offline switch, atomic fetch with checksum, the missing-file message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nnlab.data._download import DownloadFailed, fetch, missing_file_error, offline_reason


@pytest.mark.parametrize(
    ("value", "offline"),
    [
        pytest.param("1", True, id="one"),
        pytest.param("yes", True, id="yes"),
        pytest.param("0", False, id="zero"),
        pytest.param("", False, id="empty"),
    ],
)
def test_offline_switch(monkeypatch: pytest.MonkeyPatch, value: str, offline: bool) -> None:
    monkeypatch.setenv("NNLAB_OFFLINE", value)
    assert offline_reason() == ("offline: NNLAB_OFFLINE is set" if offline else None)


def test_fetch_offline_fails_without_touching_the_target(tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    target = tmp_path / "cache" / "out.bin"
    with pytest.raises(DownloadFailed, match=r"^offline: NNLAB_OFFLINE is set$"):
        fetch(source.as_uri(), target)
    assert not target.exists()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNLAB_OFFLINE", "0")


@pytest.mark.usefixtures("online")
def test_fetch_writes_the_file_and_checks_its_sha256(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000  # several read chunks
    source = tmp_path / "src.bin"
    source.write_bytes(data)
    target = tmp_path / "cache" / "out.bin"
    assert fetch(source.as_uri(), target, sha256=hashlib.sha256(data).hexdigest()) == target
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


@pytest.mark.usefixtures("online")
def test_fetch_with_a_wrong_sha256_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    target = tmp_path / "cache" / "out.bin"
    with pytest.raises(DownloadFailed) as e:
        fetch(source.as_uri(), target, sha256="0" * 64)
    assert str(e.value) == (
        f"{source.as_uri()} has sha256 {hashlib.sha256(b'abc').hexdigest()}, expected {'0' * 64}"
    )
    assert list(target.parent.iterdir()) == []


@pytest.mark.usefixtures("online")
def test_fetch_of_a_missing_url_names_it_and_leaves_nothing(tmp_path: Path) -> None:
    url = (tmp_path / "absent.bin").as_uri()
    target = tmp_path / "cache" / "out.bin"
    with pytest.raises(DownloadFailed, match=rf"^{url}: "):
        fetch(url, target)
    assert list(target.parent.iterdir()) == []


def test_missing_file_error_text() -> None:
    error = missing_file_error("pima", Path("/c/pima.csv"), "offline: NNLAB_OFFLINE is set")
    assert str(error) == (
        "data.name: pima is not in the cache (/c/pima.csv) and downloading it failed "
        "(offline: NNLAB_OFFLINE is set). Put the file there or set data.path"
    )
