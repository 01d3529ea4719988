"""Run the graders on contiguous patient chunks in threads; outputs identical to one call.

Every rule graded here is per patient (CRS, ICANS and CTCAE per patient-day, ICAHT and
engraftment per patient), so a canonical observation table can be split on patient
boundaries, graded chunk by chunk, and the chunk outputs concatenated in patient order.
Patients are ordered as the engines order them (``pd.factorize(sort=True)``, i.e. sorted
ids, or a categorical's categories when they are sorted), so the concatenation has the
same rows, order, dtypes and values as the single call. Chunks hold about the same number
of rows. Threads, not processes: the engines are numpy work that mostly releases the GIL,
and threads share the chunks without pickling.

Measured (benchmarks/bench_grading.py, 5.1 M rows, 2 cores): it does not pay off. With
both cores free (a two-thread ``np.sort`` control ran 1.9× faster), 2 threads took
0.54-0.60 s against 0.37-0.42 s for one call (0.69-0.72×, 3 runs); with the cores busy
with other jobs, 0.56-0.76× (4 runs). The chunks themselves grade 1.5× faster in two
threads than one after the other (0.31-0.34 s against 0.45-0.54 s), but concatenating
the outputs costs 0.12-0.2 s: the output is mostly memory (a 150 MB daily table, object
id/label columns) and must be copied once more. Processes are worse (pickling the outputs
alone takes 0.65-0.87 s). Keep ``workers=1`` unless measured to help on the target machine.

When a split cannot be proven to give the same order -- a categorical ``patient_id``
whose categories are not sorted, or missing ids -- :func:`patient_chunks` returns ``None``
and callers grade in one call.
"""

from __future__ import annotations

import inspect
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from remission.derive.criteria.ctcae import grade_labs
from remission.derive.criteria.response import assess_response, summarise_response

__all__ = ["concat_outputs", "grade_all_chunked", "map_patient_chunks", "patient_chunks",
           "resolve_workers"]


def resolve_workers(workers: int | None) -> int:
    """``None`` -> ``os.cpu_count()``; otherwise ``workers`` (at least 1)."""
    if workers is None:
        return max(os.cpu_count() or 1, 1)
    if workers < 1:
        raise ValueError("workers must be >= 1 (or None for os.cpu_count())")
    return int(workers)


def _codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index | None] | None:
    """(patient code per row in engine order, categories if categorical) or None."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        cats = ids.cat.categories
        if not cats.is_monotonic_increasing:
            return None  # engines order daily rows by category, summaries by id: no split
        codes = ids.cat.codes.to_numpy().astype(np.int64)
        return (None if len(codes) and codes.min() < 0 else (codes, cats))
    codes, _ = pd.factorize(ids, sort=True)
    if len(codes) and codes.min() < 0:
        return None
    return codes.astype(np.int64), None


def _bounds(codes: np.ndarray, n: int) -> np.ndarray:
    """Patient-code cut points (ascending, from 0 to n_patients) for ~equal row counts;
    every chunk between two cut points has rows."""
    cum = np.cumsum(np.bincount(codes))
    targets = cum[-1] * np.arange(1, n) / n
    inner = np.searchsorted(cum, targets, side="left") + 1
    before = np.r_[0, cum][inner]  # rows of the patients before each inner cut
    inner = inner[(before > 0) & (before < cum[-1])]
    _, first = np.unique(np.r_[0, cum][inner], return_index=True)  # one cut per row count
    return np.r_[0, inner[first], len(cum)]


def patient_chunks(obs: pd.DataFrame, n: int) -> list[Callable[[], pd.DataFrame]] | None:
    """``n`` (or fewer) thunks, each building one patient chunk of ``obs`` (rows in file order).

    Building a chunk is left to the worker so that the row copies run in parallel too; a
    table already in patient order is sliced instead (no copies).
    A categorical ``patient_id`` keeps only the chunk's categories (the engines size their
    patient-day grid by the number of categories). None when no identical split exists.
    """
    got = _codes(obs["patient_id"]) if len(obs) else None
    if got is None:
        return None
    codes, cats = got
    bounds = _bounds(codes, n)
    if len(bounds) <= 2:
        return None

    grouped = bool((codes[1:] >= codes[:-1]).all())  # rows already in patient order

    def build(k: int) -> pd.DataFrame:
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if grouped:  # a contiguous slice: no row copies
            rows = np.arange(*np.searchsorted(codes, [lo, hi]))
            part = obs.iloc[rows[0]:rows[-1] + 1]
        else:
            rows = np.flatnonzero((codes >= lo) & (codes < hi))
            part = obs.take(rows)
        if cats is not None:
            sub = pd.Categorical.from_codes(codes[rows] - lo, categories=cats[lo:hi])
            part = part.assign(patient_id=pd.Series(sub, index=part.index))
        return part

    return [lambda k=k: build(k) for k in range(len(bounds) - 1)]


def _block_slices(table: pd.DataFrame, column: str, order: Sequence[str]) -> list[slice]:
    """Row slice of each value of ``order`` in a table made of contiguous ``column`` blocks."""
    codes = pd.Categorical(table[column], categories=list(order)).codes
    if len(codes) and (codes.min() < 0 or (np.diff(codes) < 0).any()):
        raise ValueError(f"{column!r} blocks are not in the expected order")
    edges = np.searchsorted(codes, np.arange(len(order) + 1), side="left")
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def concat_outputs(
    parts: Sequence[dict[str, pd.DataFrame]],
    blocks: Mapping[str, tuple[str, Sequence[str]]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Concatenate each named table over chunks (in chunk order, fresh RangeIndex).

    ``blocks`` names tables that are block-major rather than patient-major (e.g. the CTCAE
    lab table: all ANC rows, then all platelet rows, ...) as ``table -> (column, block
    order)``; those are concatenated block by block, chunk order within each block.
    """
    blocks = dict(blocks or {})
    out = {}
    for key in parts[0]:
        tables = [p[key] for p in parts]
        if key in blocks and all(len(t) for t in tables):
            column, order = blocks[key]
            cuts = [_block_slices(t, column, order) for t in tables]
            tables = [t.iloc[c[b]] for b in range(len(order)) for t, c in zip(tables, cuts,
                                                                              strict=True)]
        out[key] = pd.concat(tables, ignore_index=True)
    return out


def map_patient_chunks(
    obs: pd.DataFrame,
    grade: Callable[[pd.DataFrame], dict[str, pd.DataFrame]],
    workers: int | None = 1,
    blocks: Mapping[str, tuple[str, Sequence[str]]] | None = None,
) -> dict[str, pd.DataFrame]:
    """``grade`` on patient chunks of ``obs`` in ``workers`` threads, outputs concatenated.

    ``grade`` must be per patient (its output rows for a patient depend only on that
    patient's rows) and return tables ordered by patient; then the result equals
    ``grade(obs)``. ``blocks`` as in :func:`concat_outputs`. With one worker, or when no
    identical split exists, this is ``grade(obs)``.
    """
    n = resolve_workers(workers)
    thunks = patient_chunks(obs, n) if n > 1 else None
    if thunks is None:
        return grade(obs)
    with ThreadPoolExecutor(max_workers=len(thunks)) as pool:
        parts = list(pool.map(lambda make: grade(make()), thunks))
    return concat_outputs(parts, blocks)


def _lab_order() -> tuple[str, ...]:
    return inspect.signature(grade_labs).parameters["variables"].default


def grade_all_chunked(obs: pd.DataFrame, workers: int | None, **options) -> dict[str, pd.DataFrame]:
    """:func:`~remission.derive.criteria.run.grade_all` graded on patient chunks in threads.

    Every per-patient table is graded per chunk; ELN response (which may list patients
    without observations) is then assessed once on the concatenated daily table.
    """
    from remission.derive.criteria.run import grade_all  # run.py imports this module

    response = options.pop("response", "eln2022")
    landmark_day = options.pop("landmark_day", None)
    patients = options.get("patients")
    out = map_patient_chunks(
        obs, lambda part: grade_all(part, response=None, workers=1, **options), workers,
        blocks={"labs": ("variable", _lab_order())})
    if response is not None:
        ids = None if patients is None else list(patients["patient_id"])
        out["response_assessments"] = assess_response(out["daily"], response)
        out["response"] = summarise_response(out["response_assessments"], out["daily"],
                                             landmark_day, patients=ids)
    return out
