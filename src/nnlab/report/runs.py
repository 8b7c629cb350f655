"""The runs a report lists, and how many: ranking, the diagnoses and failures of the runs, and
the limits that keep the report of a sweep of thousands of runs readable and small.

A report lists every run, setting, diagnosed run and failure as long as there are few. Above
a limit it shows a selection and says, in a :class:`~nnlab.report.cells.Note`, how many were
left out and that ``summary.csv`` (linked from the page) holds every run:

- the per-run table, above ``RUN_TABLE_MAX`` runs: the ``RUN_TABLE_TOP`` best and the
  ``RUN_TABLE_BOTTOM`` worst completed runs by the target column (keeping their ranks), then
  up to ``RUN_TABLE_PROBLEMS`` runs that did not complete (one of each status first);
- the per-setting table (and the layer tables), above ``SETTINGS_TABLE_MAX`` settings: the
  ``SETTINGS_TABLE_TOP`` best and ``SETTINGS_TABLE_BOTTOM`` worst settings by mean;
- a diagnosis label with more than ``DIAGNOSIS_RUNS_MAX`` runs: its count and its
  ``DIAGNOSIS_EXAMPLES`` best-ranked runs;
- the failed or diverged runs, above ``PROBLEMS_MAX``: ``PROBLEMS_MAX`` of them, one of each
  distinct status and error first, and the others counted by status.

At or under the limits a report is exactly what it was before the limits existed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from nnlab import store
from nnlab.compare import GroupStats
from nnlab.report.cells import Note, number_cell
from nnlab.results import statuses, text

RUN_TABLE_MAX = 50  # more runs than this: the per-run table shows a selection
RUN_TABLE_TOP = 20  # ... the best completed runs
RUN_TABLE_BOTTOM = 10  # ... the worst completed runs
RUN_TABLE_PROBLEMS = 50  # ... and at most this many runs that did not complete
SETTINGS_TABLE_MAX = 200  # more settings than this: the per-setting table shows a selection
SETTINGS_TABLE_TOP = 20  # ... the best settings by mean
SETTINGS_TABLE_BOTTOM = 10  # ... the worst settings by mean
DIAGNOSIS_RUNS_MAX = 50  # a label with more runs lists only examples
DIAGNOSIS_EXAMPLES = 5  # ... this many, best-ranked first
PROBLEMS_MAX = 50  # failed or diverged runs listed with their errors at most

T = TypeVar("T")
Gaps = tuple[tuple[int, Note], ...]
# what a long table shows: the rows or settings kept (None: all), its gap rows, the sentence
RunSelection = tuple[list[int] | None, Gaps, Note | None]
SettingSelection = tuple[list[GroupStats] | None, Gaps, Note | None]


@dataclass
class DiagnosisLine:
    """One diagnosis label and the runs that got it (best-ranked first), each with its reason.
    Above ``DIAGNOSIS_RUNS_MAX`` runs, ``runs`` holds only examples: ``left_out`` counts the
    others and ``more`` says so."""

    label: str
    runs: list[tuple[str, str]]
    left_out: int = 0
    more: Note | None = None

    @property
    def n(self) -> int:
        """How many runs got this label."""
        return len(self.runs) + self.left_out


@dataclass
class Problem:
    """A run that did not complete: failed, diverged, interrupted or never finished."""

    run_id: str
    status: str
    epoch: str
    error: str
    traceback: str | None


def plural(n: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {word}{'s' * (n != 1)}"


def _everything_in(link: str | None) -> str:
    if link:
        return f"every run is in {link}"
    return "every run's result.json is in its folder"


def _see(link: str | None, column: str) -> str:
    return f"see the {column} column of {link}" if link else "see each run's result.json"


def _best_and_worst(best: int, worst: int, what: str) -> str:
    if worst:
        return f"the {best} best and the {worst} worst {what}"
    return f"the {best} best {what}"


def _by_status(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.most_common())


def spread(items: Sequence[T], key: Callable[[T], Hashable], k: int) -> list[int]:
    """The positions of ``k`` of ``items``, in order: the first item of each distinct
    ``key`` before any repeat, so that a cut list still shows every kind (up to ``k``)."""
    seen: set[Hashable] = set()
    first, rest = [], []
    for i, item in enumerate(items):
        kind = key(item)
        (rest if kind in seen else first).append(i)
        seen.add(kind)
    return sorted((first + rest)[:k])


def ranked(summary: pd.DataFrame, target: str | None, maximize: bool) -> pd.DataFrame:
    """Completed runs by ``target``, best first, then every other run (by status)."""
    df = summary.copy()
    df["_done"] = [s != store.COMPLETED for s in statuses(df)]
    if target is not None and target in df.columns:
        score = pd.to_numeric(df[target], errors="coerce")
        df["_score"] = -score if maximize else score
    else:
        df["_score"] = 0.0
    df["_order"] = range(len(df))
    df = df.sort_values(["_done", "_score", "_order"], na_position="last", kind="stable")
    return df.drop(columns=["_done", "_score", "_order"]).reset_index(drop=True)


def select_runs(ranked_runs: pd.DataFrame, link: str | None) -> RunSelection:
    """The rows of the per-run table (positions in ``ranked_runs``; None: every run), the gap
    rows and the sentence saying what is left out (None when nothing is)."""
    n = len(ranked_runs)
    if n <= RUN_TABLE_MAX:
        return None, (), None
    row_statuses = statuses(ranked_runs)
    done = [i for i, s in enumerate(row_statuses) if s == store.COMPLETED]
    others = [i for i, s in enumerate(row_statuses) if s != store.COMPLETED]
    top = done[:RUN_TABLE_TOP]
    bottom = done[max(RUN_TABLE_TOP, len(done) - RUN_TABLE_BOTTOM) :]
    picked = [others[j] for j in spread([row_statuses[i] for i in others], str,
                                        RUN_TABLE_PROBLEMS)]  # fmt: skip
    shown = top + bottom + picked
    if len(shown) == n:
        return None, (), None
    gaps: list[tuple[int, Note]] = []
    hidden = len(done) - len(top) - len(bottom)
    if hidden:
        first, last = len(top) + 1, len(done) - len(bottom)
        gaps.append((len(top), Note(f"{plural(hidden, 'completed run')}, ranked {first} to "
                                    f"{last}, not shown")))  # fmt: skip
    chosen = set(picked)
    unseen = Counter(row_statuses[i] for i in others if i not in chosen)
    if unseen:
        more = sum(unseen.values())
        gaps.append((len(shown), Note(f"and {more} more that did not complete "
                                      f"({_by_status(unseen)}): {_see(link, 'status')}",
                                      link)))  # fmt: skip
    parts = []
    if top:
        parts.append(_best_and_worst(len(top), len(bottom), "completed runs"))
    if others:
        counts = _by_status(Counter(row_statuses[i] for i in others))
        which = "every run" if not unseen else f"{len(picked)} of the {len(others)} runs"
        parts.append(f"{which} that did not complete ({counts})")
    note = Note(f"{n} runs are too many for one table: it shows {', and '.join(parts)}; "
                f"{_everything_in(link)}.", link)  # fmt: skip
    return shown, tuple(gaps), note


def select_settings(groups: Sequence[GroupStats], link: str | None) -> SettingSelection:
    """The settings of the per-setting table (None: every one; ``groups`` are ranked best
    first as the verdict ranks them), the gap rows and the sentence saying what is left out."""
    n = len(groups)
    if n <= SETTINGS_TABLE_MAX:
        return None, (), None
    scored = [g for g in groups if g.n]
    top = scored[:SETTINGS_TABLE_TOP]
    bottom = scored[max(SETTINGS_TABLE_TOP, len(scored) - SETTINGS_TABLE_BOTTOM) :]
    hidden = len(scored) - len(top) - len(bottom)
    unscored = n - len(scored)
    gaps: list[tuple[int, Note]] = []
    if hidden:
        first, last = len(top) + 1, len(scored) - len(bottom)
        gaps.append((len(top), Note(f"{plural(hidden, 'setting')}, ranked {first} to {last}, "
                                    "not shown")))  # fmt: skip
    if unscored:
        gaps.append((len(top) + len(bottom),
                     Note(f"and {plural(unscored, 'setting')} without a completed run: "
                          f"{_see(link, 'status')}", link)))  # fmt: skip
    shown = _best_and_worst(len(top), len(bottom), "by mean") if top else "no setting with a mean"
    note = Note(f"{n} settings are too many for one table: it shows {shown}; "
                f"{_everything_in(link)}.", link)  # fmt: skip
    return [*top, *bottom], tuple(gaps), note


def diagnosis_lines(
    ranked_runs: pd.DataFrame, results: dict[str, dict[str, Any]], link: str | None
) -> list[DiagnosisLine]:
    """A line per diagnosis label, in order of its best-ranked run; a label with more than
    ``DIAGNOSIS_RUNS_MAX`` runs keeps its ``DIAGNOSIS_EXAMPLES`` best-ranked as examples."""
    lines: dict[str, DiagnosisLine] = {}
    for rid in (text(r) for r in ranked_runs.get("run_id", [])):
        diagnosis = (results.get(rid) or {}).get("diagnosis")
        if not isinstance(diagnosis, dict) or not diagnosis.get("label"):
            continue
        label = str(diagnosis["label"])
        line = lines.setdefault(label, DiagnosisLine(label, []))
        line.runs.append((rid, text(diagnosis.get("reason"))))
    for line in lines.values():
        if len(line.runs) > DIAGNOSIS_RUNS_MAX:
            line.left_out = len(line.runs) - DIAGNOSIS_EXAMPLES
            line.runs = line.runs[:DIAGNOSIS_EXAMPLES]
            line.more = Note(f"and {line.left_out} more: {_see(link, 'diagnosis')}", link)
    return list(lines.values())


def _problem(rid: str, res: dict[str, Any]) -> Problem | None:
    status = text(res.get("status")) or store.RUNNING
    diagnosis = res.get("diagnosis") if isinstance(res.get("diagnosis"), dict) else {}
    if status == store.COMPLETED and diagnosis.get("label") == "diverged":
        # finite, but the loss went up: a failure too, though no NaN stopped it
        reason = text(diagnosis.get("reason"))
        return Problem(rid, "completed, loss rose", "–", reason, None)
    if status == store.COMPLETED:
        return None
    epoch = res.get("diverged_epoch") if status == store.DIVERGED else res.get("epochs_run")
    error = text(res.get("error"))
    if not error and status == store.DIVERGED:
        error = "the loss became NaN or infinite"
    if not error and status == store.RUNNING:
        error = "no result: the run never finished (a crash?); run the experiment again"
    trace = text(res.get("traceback")) or None
    return Problem(rid, status, number_cell(epoch), error, trace)


def problem_list(
    ranked_runs: pd.DataFrame, results: dict[str, dict[str, Any]], link: str | None
) -> tuple[list[Problem], Note | None]:
    """The runs that did not complete (or whose loss rose), in ranked order, and the sentence
    saying how many were left out: above ``PROBLEMS_MAX``, one of each distinct status and
    error comes first."""
    found = []
    for rid in (text(r) for r in ranked_runs.get("run_id", [])):
        problem = _problem(rid, results.get(rid) or {})
        if problem is not None:
            found.append(problem)
    if len(found) <= PROBLEMS_MAX:
        return found, None
    keep = spread(found, lambda p: (p.status, p.error), PROBLEMS_MAX)
    kept = set(keep)
    unseen = Counter(p.status for i, p in enumerate(found) if i not in kept)
    more = sum(unseen.values())
    where = f"in the status column of {link}" if link else "in their folders"
    note = Note(f"{len(found)} runs failed, diverged or did not finish: {PROBLEMS_MAX} are "
                f"listed, one of each distinct error first; the other {more} "
                f"({_by_status(unseen)}) are {where}, each with its error in its result.json.",
                link)  # fmt: skip
    return [found[i] for i in keep], note
