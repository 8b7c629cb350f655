"""TensorBoard event files, written from plain numbers with TensorBoard's own protocol buffers
and record format: no TensorFlow, so a JAX run (or ``nnlab export``) never imports it.

An event file is a sequence of records (length, its masked CRC-32C, the serialized ``Event``,
its masked CRC-32C). Scalars are ``simple_value`` summaries, histograms ``HistogramProto``s,
and the HParams plugin reads its experiment and sessions from summaries whose metadata carries
the plugin's own message (``api_pb2``/``plugin_data_pb2``) and whose value is an empty tensor.
A file is written whole under a temporary name and renamed, so a reader (a TensorBoard already
watching the folder) never sees half of one. Imports ``tensorboard``, nothing of nnlab's wings.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.errors import NnlabError

# the suffix of the event files nnlab writes: a folder's other event files are left alone
SUFFIX = ".nnlab"
INSTALL = "pip install tensorboard"
MAX_DISCRETE = 50  # more distinct numbers than this: the HParams column is an interval


def _tensorboard() -> Any:
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    except ImportError as e:
        raise NnlabError(f"TensorBoard output needs the tensorboard package ({e}); "
                         f"install it: {INSTALL}") from None  # fmt: skip
    return event_pb2, summary_pb2, masked_crc32c, api_pb2, metadata, plugin_data_pb2


class EventFile:
    """Events for one TensorBoard run folder, collected, then written in one go by
    :meth:`write`, which replaces the file of the same ``name`` nnlab wrote there before."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = Path(folder)
        self.name = name  # "scalars", "hparams": one file of each per folder
        self._pb = _tensorboard()
        self._events: list[Any] = []

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    # ---------------------------------------------------------------------------- summaries

    def scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        if value is None or not math.isfinite(float(value)):
            return  # TensorBoard draws NaN as a gap at best; the CSVs keep the raw value
        summary_pb2 = self._pb[1]
        value_pb = summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
        self._add(summary_pb2.Summary(value=[value_pb]), step, wall_time)

    def histogram(
        self, tag: str, edges: Sequence[float], counts: Sequence[float], step: int,
        stats: Mapping[str, float],
    ) -> None:  # fmt: skip
        """A histogram of ``counts`` in the buckets ``edges[i]..edges[i+1]``; ``stats`` has
        min, max, num, sum and sum_squares of the values."""
        summary_pb2 = self._pb[1]
        histo = summary_pb2.HistogramProto(
            min=stats["min"], max=stats["max"], num=stats["num"], sum=stats["sum"],
            sum_squares=stats["sum_squares"], bucket_limit=list(edges[1:]),
            bucket=list(counts),
        )  # fmt: skip
        self._add(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=histo)]),
                  step, None)  # fmt: skip

    def hparams_experiment(
        self, hparams: Mapping[str, Sequence[Any]], metrics: Iterable[tuple[str, str]]
    ) -> None:
        """The HParams dashboard's columns: each hyperparameter with its values (their type
        from the values), and the metrics as (group, tag): group is the session's subfolder
        holding the scalar ("" for the session's own folder)."""
        api_pb2 = self._pb[3]
        infos = []
        for name, values in hparams.items():
            info = api_pb2.HParamInfo(name=name, display_name=name, type=_data_type(values))
            distinct = sorted({_plain(v) for v in values}, key=lambda v: (str(type(v)), v))
            if info.type == api_pb2.DATA_TYPE_FLOAT64 and len(distinct) > MAX_DISCRETE:
                info.domain_interval.min_value = float(distinct[0])  # a random sweep's draws
                info.domain_interval.max_value = float(distinct[-1])
            else:
                info.domain_discrete.extend(distinct)
            infos.append(info)
        metric_infos = [
            api_pb2.MetricInfo(name=api_pb2.MetricName(group=g, tag=t),
                               display_name=f"{g}/{t}" if g else t)
            for g, t in metrics
        ]  # fmt: skip
        experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metric_infos,
                                        time_created_secs=time.time())  # fmt: skip
        self._plugin_summary("experiment", experiment)

    def hparams_session(self, hparams: Mapping[str, Any], status: str, start: float,
                        end: float, group: str = "") -> None:  # fmt: skip
        """One session (a run): its hyperparameter values, and how it ended (``completed``,
        ``diverged``, ``failed`` or ``interrupted``)."""
        plugin_data_pb2 = self._pb[5]
        info = plugin_data_pb2.SessionStartInfo(group_name=group, start_time_secs=start)
        for name, value in hparams.items():
            _set_value(info.hparams[name], _plain(value))
        self._plugin_summary("session_start_info", info, wall_time=start)
        ended = plugin_data_pb2.SessionEndInfo(status=_STATUS.get(status, "STATUS_UNKNOWN"),
                                       end_time_secs=end)  # fmt: skip
        self._plugin_summary("session_end_info", ended, wall_time=end)

    # ------------------------------------------------------------------------------- files

    def write(self) -> Path:
        """Write the events as ``events.out.tfevents.<time>.<host>.<name>.nnlab`` in the folder,
        removing the file this name had before. Returns the file."""
        event_pb2, masked_crc32c = self._pb[0], self._pb[2]
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob(f"events.out.tfevents.*.{self.name}{SUFFIX}"):
            old.unlink(missing_ok=True)
        first = self._events[0].wall_time if self._events else time.time()
        version = event_pb2.Event(wall_time=first, file_version="brain.Event:2")
        path = self.folder / (f"events.out.tfevents.{int(first):010d}."
                              f"{socket.gethostname()}.{self.name}{SUFFIX}")  # fmt: skip
        tmp = self.folder / f".nnlab-{self.name}.tmp"  # no "tfevents" in it: not read
        with open(tmp, "wb") as f:
            for event in [version, *self._events]:
                data = event.SerializeToString()
                header = struct.pack("<Q", len(data))
                f.write(header + struct.pack("<I", masked_crc32c(header)))
                f.write(data + struct.pack("<I", masked_crc32c(data)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    def _add(self, summary: Any, step: int, wall_time: float | None) -> None:
        event = self._pb[0].Event(wall_time=wall_time or time.time(), step=int(step),
                                  summary=summary)  # fmt: skip
        self._events.append(event)

    def _plugin_summary(self, field: str, message: Any, wall_time: float | None = None) -> None:
        summary_pb2, metadata, plugin_data_pb2 = self._pb[1], self._pb[4], self._pb[5]
        data = plugin_data_pb2.HParamsPluginData(**{field: message})
        tag = {"experiment": metadata.EXPERIMENT_TAG,
               "session_start_info": metadata.SESSION_START_INFO_TAG,
               "session_end_info": metadata.SESSION_END_INFO_TAG}[field]  # fmt: skip
        meta = metadata.create_summary_metadata(data)
        value = summary_pb2.Summary.Value(tag=tag, tensor=metadata.NULL_TENSOR, metadata=meta)
        self._add(summary_pb2.Summary(value=[value]), 0, wall_time)


_STATUS = {"completed": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE",
           "failed": "STATUS_FAILURE", "interrupted": "STATUS_UNKNOWN",
           "running": "STATUS_RUNNING"}  # fmt: skip


def _plain(value: Any) -> bool | float | str:
    """A hyperparameter value as the HParams plugin holds it: a bool, a number or text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return "" if value is None else str(value)


def _data_type(values: Sequence[Any]) -> str:
    kinds = {type(_plain(v)) for v in values}
    if kinds == {bool}:
        return "DATA_TYPE_BOOL"
    return "DATA_TYPE_FLOAT64" if kinds == {float} else "DATA_TYPE_STRING"


def _set_value(target: Any, value: bool | float | str) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, float):
        target.number_value = value
    else:
        target.string_value = value
