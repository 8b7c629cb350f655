"""Fetching a file into the dataset cache, and the one error message for a file we lack.

Every loader that downloads goes through here (Pima directly; MNIST and CIFAR-10 only use
``offline_reason`` and ``missing_file_error`` before handing the transfer to Keras). Tests set
``NNLAB_OFFLINE=1`` so that nothing ever touches the network.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from nnlab.errors import DataError
from nnlab.store import atomic_path

OFFLINE_ENV = "NNLAB_OFFLINE"
TIMEOUT_S = 60.0
_CHUNK = 1 << 16


class DownloadFailed(Exception):
    """A fetch did not produce the file; ``str(e)`` is the reason, in a few words."""


def offline_reason() -> str | None:
    """Called before any transfer; returns why we must not use the network, or None."""
    value = os.environ.get(OFFLINE_ENV, "")
    if value and value != "0":
        return f"offline: {OFFLINE_ENV} is set"
    return None


def fetch(url: str, target: Path, sha256: str | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``target`` all at once and return ``target``.

    Called by the loaders of downloadable datasets when the cache lacks their file. The bytes
    go to a temporary file beside ``target`` and are renamed over it only once complete and,
    when ``sha256`` is given, verified; so the cache never holds a torn or wrong file.
    Raises ``DownloadFailed`` with the reason (offline, network error, checksum mismatch).
    """
    reason = offline_reason()
    if reason:
        raise DownloadFailed(reason)
    digest = hashlib.sha256()
    try:
        with (
            atomic_path(target) as tmp,
            urllib.request.urlopen(url, timeout=timeout) as response,
            open(tmp, "wb") as out,
        ):
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            if sha256 is not None and digest.hexdigest() != sha256.lower():
                raise DownloadFailed(
                    f"{url} has sha256 {digest.hexdigest()}, expected {sha256.lower()}"
                )
    except DownloadFailed:
        raise
    except urllib.error.HTTPError as e:
        raise DownloadFailed(f"{url}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise DownloadFailed(f"{url}: {e.reason}") from None
    except TimeoutError:
        raise DownloadFailed(f"{url}: no answer within {timeout:g} s") from None
    except OSError as e:
        raise DownloadFailed(f"{url}: {e}") from None
    return target


def missing_file_error(name: str, target: Path, reason: str) -> DataError:
    """The error a loader raises when ``target`` is not cached and could not be fetched."""
    return DataError(
        f"data.name: {name} is not in the cache ({target}) and downloading it failed "
        f"({reason}). Put the file there or set data.path"
    )
