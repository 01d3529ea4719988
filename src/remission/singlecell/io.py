"""Read single-cell counts declared in a study folder; every problem at once.

A study folder declares its single-cell data in ``study.toml`` (``[singlecell]``) and
``singlecell/samples.csv`` (one row per sample: ``sample, path, time_point, source``,
optional ``format``, ``layout``, ``day``). Formats: a 10x ``filtered_feature_bc_matrix``
folder (``matrix.mtx[.gz]``, ``barcodes.tsv[.gz]``, ``features.tsv[.gz]``), a 10x ``.h5``,
an ``.h5ad`` (raw counts in ``X`` or ``layers["counts"]``), or a counts ``.csv`` (genes x
cells by default, as R writes a Seurat counts matrix; ``layout = cells_x_genes`` for the
transpose). See docs/study-format.md and docs/singlecell.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from remission.errors import InputError, Problem, ProblemLog
from remission.singlecell.analysis import Params
from remission.singlecell.declared import has_singlecell  # noqa: F401  (re-exported)
from remission.singlecell.pp import QCParams

if TYPE_CHECKING:
    import anndata

SAMPLES_FILE = "singlecell/samples.csv"
FORMATS = ("10x_mtx", "10x_h5", "h5ad", "csv")
LAYOUTS = ("genes_x_cells", "cells_x_genes")
_KEYS = {"samples", "construct_features", "car_min_umis", "mode", "resolution",
         "n_top_genes", "n_pcs", "n_dims", "donor_sex", "origin_file", "time_order",
         "de_labels", "de_car_only", "umap", "seed", "qc", "reference", "genesets",
         "go_genesets", "out_of_core", "memory_gb", "chunk_cells"}
_REF_KEYS = {"path", "label_key", "labels"}
_QC_KEYS = {"min_genes", "max_genes", "mito_prefix", "mito_nmads", "counts_nmads",
            "genes_nmads", "mad_scale", "by_sample", "doublets", "remove_doublets",
            "doublet_rate"}
_REQUIRED_COLS = ("sample", "path", "time_point", "source")
BASE_BYTES = 450_000_000
BYTES_PER_NONZERO = 20


@dataclass
class SingleCellStudy:
    """The declared single-cell part of a study: parameters, sample sheet, counts.

    In memory (``parts is None``), ``adata`` holds every count. Out of core (``parts``:
    the declared samples, read ``chunk_cells`` at a time by
    :func:`remission.singlecell.outofcore.profile_h5ad`), ``adata`` holds the cells'
    ``obs`` only (no features) and ``route`` says why that route was taken.
    """

    folder: Path
    params: Params
    samples: pd.DataFrame
    adata: anndata.AnnData
    origin: pd.Series | None = None
    warnings: list[str] = field(default_factory=list)
    parts: list | None = None
    chunk_cells: int = 4096
    route: str = "in memory"


@dataclass(frozen=True)
class Route:
    """``out_of_core`` (true, false or "auto"), ``memory_gb`` and ``chunk_cells`` keys."""

    out_of_core: bool | str = False
    memory_gb: float | None = None
    chunk_cells: int = 4096


def parse_route(tab: dict[str, Any], log: ProblemLog, file: str = "study.toml") -> Route:
    """The route keys of ``[singlecell]``: in memory, out of core, or chosen by size.

    Parameters
    ----------
    tab : dict
        The ``[singlecell]`` table.
    log : ProblemLog
        Collects problems.
    file : str
        File name for messages.

    Returns
    -------
    Route
        ``out_of_core = "auto"`` needs ``memory_gb`` (the memory the analysis may use).

    Examples
    --------
    >>> parse_route({"out_of_core": "auto", "memory_gb": 16}, ProblemLog())
    Route(out_of_core='auto', memory_gb=16.0, chunk_cells=4096)
    >>> log = ProblemLog(); _ = parse_route({"out_of_core": "auto"}, log)
    >>> log.problems[0].message
    'out_of_core = "auto" needs memory_gb'
    """
    kw: dict[str, Any] = {}
    v = tab.get("out_of_core", False)
    if v is True or v is False or v == "auto":
        kw["out_of_core"] = v
    else:
        log.add(file, "must be true, false or \"auto\"", column="singlecell.out_of_core",
                value=v, expected="true (read the counts a block of cells at a time), "
                                  "false (in memory) or \"auto\" (by memory_gb)")
    if "memory_gb" in tab:
        m = tab["memory_gb"]
        if not isinstance(m, int | float) or isinstance(m, bool) or m <= 0:
            log.add(file, "must be a positive number", column="singlecell.memory_gb", value=m,
                    expected="gigabytes (10^9 bytes) the analysis may use, e.g. 16")
        else:
            kw["memory_gb"] = float(m)
    elif v == "auto":
        log.add(file, 'out_of_core = "auto" needs memory_gb', column="singlecell.memory_gb",
                expected="gigabytes (10^9 bytes) the analysis may use, e.g. 16")
    if "chunk_cells" in tab:
        c = tab["chunk_cells"]
        if not isinstance(c, int) or isinstance(c, bool) or c < 1:
            log.add(file, "must be a whole number >= 1", column="singlecell.chunk_cells",
                    value=c, expected="cells read at a time, e.g. 4096")
        else:
            kw["chunk_cells"] = c
    return Route(**kw)


def stored_counts(path: str | Path, fmt: str | None = None) -> tuple[int, int]:
    """Cells and stored non-zero counts of a count matrix, read from its header only.

    Parameters
    ----------
    path : str or Path
        File or 10x folder (as in the sample sheet).
    fmt : str, optional
        One of ``FORMATS``; inferred from the name when omitted.

    Returns
    -------
    tuple of int
        (cells, non-zero values); a CSV's are bounded from its size (a value takes at
        least two bytes: a digit and a separator), its cells counted as 0.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("counts")
    >>> p = Path(tempfile.mkdtemp()) / "c.h5ad"; a.write_h5ad(p)
    >>> stored_counts(p) == (a.n_obs, a.X.nnz)
    True
    """
    import gzip

    import h5py

    path = Path(path)
    fmt = fmt or _detect_format(path)
    if fmt in ("h5ad", "10x_h5"):
        with h5py.File(path, "r") as f:
            name = "matrix" if fmt == "10x_h5" else \
                ("layers/counts" if "layers" in f and "counts" in f["layers"] else "X")
            m = f[name]
            if isinstance(m, h5py.Dataset):  # dense
                return int(m.shape[0]), int(np.prod(m.shape))
            shape = m["shape"][:] if "shape" in m else m.attrs["shape"]
            cells = int(shape[1] if fmt == "10x_h5" else shape[0])
            return cells, int(m["data"].shape[0])
    if fmt == "10x_mtx":
        mtx = next((path / n for n in ("matrix.mtx.gz", "matrix.mtx")
                    if (path / n).exists()), None)
        if mtx is None:
            return 0, 0
        with (gzip.open if mtx.suffix == ".gz" else open)(mtx, "rt") as fh:
            for line in fh:
                if not line.startswith("%"):
                    _, cells, nnz = (int(x) for x in line.split()[:3])
                    return cells, nnz
        return 0, 0
    return 0, path.stat().st_size // 2


def in_memory_bytes(cells: int, nnz: int, n_top_genes: int = 2000) -> int:
    """Estimated peak memory of the in-memory route (:func:`~remission.singlecell.profile`).

    ``BASE_BYTES`` (the interpreter with scanpy) + ``BYTES_PER_NONZERO`` x stored
    non-zero counts (the counts, their float64 log-normalised copy and the QC and HVG
    transients) + ``8 x cells x HVGs`` (the dense scaled HVGs). Set just above two
    measured peaks (docs/singlecell.md, "Choosing the route"): 24,000 cells with 47.2
    million non-zero counts, 1.65 GB (estimate 1.78); 16,000 cells with 107.8 million,
    2.79 GB (estimate 2.86).

    Parameters
    ----------
    cells : int
        Cells before QC.
    nnz : int
        Stored non-zero counts.
    n_top_genes : int
        HVGs.

    Returns
    -------
    int
        Bytes.

    Examples
    --------
    >>> round(in_memory_bytes(24_000, 47_200_000) / 1e9, 2)
    1.78
    """
    return int(BASE_BYTES + BYTES_PER_NONZERO * nnz + 8 * cells * n_top_genes)


def parse_params(tab: dict[str, Any], log: ProblemLog, file: str = "study.toml") -> Params:
    """``[singlecell]`` of study.toml -> :class:`Params`; problems go to ``log``.

    Parameters
    ----------
    tab : dict
        The ``[singlecell]`` table.
    log : ProblemLog
        Collects problems (file, column = dotted key, value, expected).
    file : str
        File name for messages.

    Returns
    -------
    Params
        Parameters (defaults where keys are absent or wrong).

    Examples
    --------
    >>> parse_params({"mode": "scanpy"}, ProblemLog()).mode
    'scanpy'
    """
    for k in tab:
        if k not in _KEYS:
            log.add(file, "unknown key", column=f"singlecell.{k}",
                    expected="one of " + ", ".join(sorted(_KEYS)))
    kw: dict[str, Any] = {}

    def str_list(key: str) -> tuple[str, ...] | None:
        v = tab.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            log.add(file, "must be a list of names", column=f"singlecell.{key}", value=v)
            return None
        return tuple(v)

    cf = str_list("construct_features")
    if cf is not None:
        kw["construct_features"] = cf
    for key, typ, lo in (("car_min_umis", int, 1), ("n_top_genes", int, 10),
                         ("n_pcs", int, 2), ("n_dims", int, 2), ("seed", int, 0)):
        if key in tab:
            v = tab[key]
            if not isinstance(v, typ) or isinstance(v, bool) or v < lo:
                log.add(file, f"must be a whole number >= {lo}", column=f"singlecell.{key}",
                        value=v)
            else:
                kw["n_comps" if key == "n_pcs" else key] = v
    if "resolution" in tab:
        v = tab["resolution"]
        if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            log.add(file, "must be a positive number", column="singlecell.resolution", value=v)
        else:
            kw["resolution"] = float(v)
    if "mode" in tab:
        if tab["mode"] not in ("seurat", "scanpy"):
            log.add(file, "unknown clustering mode", column="singlecell.mode",
                    value=tab["mode"], expected='"seurat" or "scanpy"')
        else:
            kw["mode"] = tab["mode"]
    if "donor_sex" in tab:
        if tab["donor_sex"] not in ("male", "female"):
            log.add(file, "must be the donor's sex", column="singlecell.donor_sex",
                    value=tab["donor_sex"], expected='"male" or "female"')
        else:
            kw["donor_sex"] = tab["donor_sex"]
    to = str_list("time_order")
    if to is not None:
        if len(to) != 2:
            log.add(file, "must name two time points", column="singlecell.time_order",
                    value=list(to), expected='["product", "day 9"]')
        else:
            kw["time_order"] = to
    dl = str_list("de_labels")
    if dl is not None:
        kw["de_labels"] = dl
    for key in ("de_car_only", "umap", "go_genesets"):
        if key in tab:
            if not isinstance(tab[key], bool):
                log.add(file, "must be true or false", column=f"singlecell.{key}",
                        value=tab[key])
            else:
                kw[key] = tab[key]
    q = tab.get("qc", {})
    if not isinstance(q, dict):
        log.add(file, "must be a table", column="singlecell.qc", value=q)
        q = {}
    qkw: dict[str, Any] = {}
    for k, v in q.items():
        if k not in _QC_KEYS:
            log.add(file, "unknown key", column=f"singlecell.qc.{k}",
                    expected="one of " + ", ".join(sorted(_QC_KEYS)))
        elif k == "mito_prefix":
            qkw[k] = str(v)
        elif k in ("by_sample", "doublets", "remove_doublets"):
            if not isinstance(v, bool):
                log.add(file, "must be true or false", column=f"singlecell.qc.{k}", value=v)
            else:
                qkw[k] = v
        elif k == "doublet_rate" and (not isinstance(v, int | float) or isinstance(v, bool)
                                      or not 0 < v < 1):
            log.add(file, "must be a share between 0 and 1", column="singlecell.qc.doublet_rate",
                    value=v, expected="e.g. 0.05")
        elif k.endswith("nmads") and v is False:
            qkw[k] = None  # rule switched off
        elif not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
            log.add(file, "must be a number >= 0 (or false to switch a MAD rule off)",
                    column=f"singlecell.qc.{k}", value=v)
        else:
            qkw[k] = int(v) if k in ("min_genes", "max_genes") else float(v)
    if qkw.get("min_genes", 0) > qkw.get("max_genes", 30000):
        log.add(file, "min_genes exceeds max_genes", column="singlecell.qc.min_genes",
                value=qkw.get("min_genes"))
    kw["qc"] = QCParams(**qkw)
    return Params(**kw)


def _detect_format(path: Path) -> str | None:
    name = path.name.lower()
    if path.is_dir():
        return "10x_mtx"
    if name.endswith(".h5ad"):
        return "h5ad"
    if name.endswith(".h5"):
        return "10x_h5"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    return None


def read_counts(path: str | Path, fmt: str | None = None, layout: str = "genes_x_cells",
                label: str | None = None) -> anndata.AnnData:
    """Read one count matrix (any supported format) as cells x features.

    Parameters
    ----------
    path : str or Path
        File or 10x folder.
    fmt : str, optional
        One of ``FORMATS``; inferred from the name when omitted.
    layout : str
        CSV orientation: ``genes_x_cells`` (default) or ``cells_x_genes``.
    label : str, optional
        File name used in messages.

    Returns
    -------
    anndata.AnnData
        Counts (CSR float or int), var index = feature names, obs index = barcodes.
        Unreadable input raises :class:`remission.errors.InputError`.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("counts")[:5, :8]
    >>> folder = write_10x_mtx(a, Path(tempfile.mkdtemp()) / "filtered_feature_bc_matrix")
    >>> b = read_counts(folder)
    >>> b.shape, bool((b.X != a.X).nnz == 0), list(b.obs_names) == list(a.obs_names)
    ((5, 8), True, True)
    >>> read_counts(folder / "missing.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    remission.errors.InputError: ...
    """
    import anndata as ad
    import scanpy as sc

    path = Path(path)
    label = label or str(path)
    fmt = fmt or _detect_format(path)
    try:
        if fmt == "10x_mtx":
            a = sc.read_10x_mtx(path, var_names="gene_symbols", make_unique=False,
                                gex_only=False)
        elif fmt == "10x_h5":
            a = sc.read_10x_h5(path, gex_only=False)
        elif fmt == "h5ad":
            a = ad.read_h5ad(path)
            if "counts" in a.layers:
                a.X = a.layers["counts"]
        elif fmt == "csv":
            df = pd.read_csv(path, index_col=0)
            df = df.T if layout == "genes_x_cells" else df
            bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
            if bad:
                raise InputError([Problem(label, "non-numeric values in the count matrix",
                                          column=str(bad[0]), expected="counts (numbers)")])
            a = ad.AnnData(X=sp.csr_matrix(df.to_numpy(dtype=float)),
                           obs=pd.DataFrame(index=df.index.astype(str)),
                           var=pd.DataFrame(index=df.columns.astype(str)))
        else:
            raise InputError([Problem(label, "unknown count-matrix format", value=fmt,
                                      expected="a 10x folder, .h5, .h5ad or .csv")])
    except InputError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise InputError([Problem(label, f"cannot read count matrix: {exc}",
                                  expected=f"a readable {fmt} count matrix")]) from None
    if not sp.issparse(a.X):
        a.X = sp.csr_matrix(np.asarray(a.X))
    return a


def check_counts(a: anndata.AnnData, label: str, log: ProblemLog,
                 tol: float = 1e-6) -> list[str]:
    """Problems of a raw count matrix: empty, negative, non-integer, duplicate barcodes.

    Values within ``tol`` of an integer are rounded (float noise in exported CSVs) and
    reported as a warning.

    Parameters
    ----------
    a : anndata.AnnData
        Counts.
    label : str
        File name for messages.
    log : ProblemLog
        Collects problems.
    tol : float
        Integer tolerance.

    Returns
    -------
    list of str
        Warnings.

    Examples
    --------
    >>> import anndata as ad
    >>> log = ProblemLog(); _ = check_counts(ad.AnnData(np.array([[1.0, -1.0]])), "x", log)
    >>> log.problems[0].message
    'negative counts'
    """
    warns: list[str] = []
    if a.n_obs == 0 or a.n_vars == 0 or (sp.issparse(a.X) and a.X.nnz == 0):
        log.add(label, "no counts", value=f"{a.n_obs} cells x {a.n_vars} features",
                expected="a non-empty raw count matrix")
        return warns
    X = a.X.tocsr() if sp.issparse(a.X) else sp.csr_matrix(np.asarray(a.X))
    data = X.data
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))

    def where(mask: np.ndarray) -> tuple[str, str, float]:
        i = int(np.flatnonzero(mask)[0])
        return str(a.obs_names[rows[i]]), str(a.var_names[X.indices[i]]), float(data[i])

    neg = data < 0
    if neg.any():
        bc, g, v = where(neg)
        log.add(label, "negative counts", row=None, column=f"barcode {bc}, feature {g}",
                value=v, expected=f"raw UMI counts >= 0 ({int(neg.sum())} negative values)")
    frac = np.abs(data - np.round(data))
    nonint = frac > tol
    if nonint.any():
        bc, g, v = where(nonint)
        log.add(label, "non-integer counts", column=f"barcode {bc}, feature {g}", value=v,
                expected=f"raw integer UMI counts, not normalised values "
                         f"({int(nonint.sum())} non-integer values)")
    elif (frac > 0).any():
        warns.append(f"{label}: {int((frac > 0).sum())} values within {tol} of an integer "
                     "were rounded")
    dup = a.obs_names[a.obs_names.duplicated()]
    if len(dup):
        log.add(label, "duplicate barcodes", column="barcode", value=", ".join(
            map(str, dup[:5])), expected=f"unique cell barcodes ({len(dup)} duplicated)")
    return warns


def load_singlecell(folder: str | Path) -> SingleCellStudy:
    """Read and check the single-cell part of a study folder; all problems at once.

    Parameters
    ----------
    folder : str or Path
        Study folder with ``study.toml`` (``[singlecell]``) and ``singlecell/samples.csv``.

    Returns
    -------
    SingleCellStudy
        Parameters, sample sheet and the concatenated raw counts (obs ``sample``,
        ``time_point``, ``source``; barcodes prefixed ``sample:``). Bad input raises
        :class:`remission.errors.InputError` naming file and field.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.simulate import write_tiny_study
    >>> st = load_singlecell(write_tiny_study(Path(tempfile.mkdtemp()) / "study"))
    >>> st.adata.shape, st.params.n_top_genes, st.params.time_order
    ((300, 302), 200, ('product', 'day 10'))
    >>> st.adata.obs_names[0], st.adata.obs.loc[st.adata.obs_names[0], "time_point"]
    ('product:product_00000-1', 'product')
    """
    import anndata as ad

    folder = Path(folder)
    log = ProblemLog()
    try:
        cfg = tomllib.loads((folder / "study.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem("study.toml", "study.toml is missing")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem("study.toml", f"malformed TOML: {exc}")]) from None
    tab = cfg.get("singlecell")
    if not isinstance(tab, dict):
        raise InputError([Problem("study.toml", "no [singlecell] table",
                                  column="singlecell", expected="a [singlecell] table")])
    params = parse_params(tab, log)
    route = parse_route(tab, log)
    sheet_name = str(tab.get("samples", SAMPLES_FILE))
    sheet_path = folder / sheet_name
    if not sheet_path.exists():
        log.add(sheet_name, "sample sheet is missing",
                expected="a CSV with columns " + ", ".join(_REQUIRED_COLS))
        log.raise_if_any()
    sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False)
    sheet.index = range(2, len(sheet) + 2)
    missing_cols = [c for c in _REQUIRED_COLS if c not in sheet.columns]
    for c in missing_cols:
        log.add(sheet_name, "required column is missing", column=c)
    if missing_cols:
        log.raise_if_any()
    for line, r in sheet.iterrows():
        for c in _REQUIRED_COLS:
            if not r[c].strip():
                log.add(sheet_name, "empty value", row=line, column=c)
        if "format" in sheet.columns and r["format"] and r["format"] not in FORMATS:
            log.add(sheet_name, "unknown format", row=line, column="format", value=r["format"],
                    expected="one of " + ", ".join(FORMATS))
        if "layout" in sheet.columns and r["layout"] and r["layout"] not in LAYOUTS:
            log.add(sheet_name, "unknown layout", row=line, column="layout", value=r["layout"],
                    expected="one of " + ", ".join(LAYOUTS))
    dups = sheet["sample"][sheet["sample"].duplicated()]
    for line, s in dups.items():
        log.add(sheet_name, "sample declared twice", row=line, column="sample", value=s)
    declared_paths = set()
    for line, r in sheet.iterrows():
        p = folder / r["path"]
        declared_paths.add(p.resolve())
        if r["path"] and not p.exists():
            log.add(sheet_name, "count matrix not found", row=line, column="path",
                    value=r["path"])
    sc_dir = folder / "singlecell"
    skip = {sheet_path.resolve(), (folder / str(tab.get("origin_file", "-"))).resolve()}
    if "genesets" in tab:
        params = _geneset_params(folder, tab["genesets"], params, log)
        if isinstance(tab["genesets"], list):
            skip |= {(folder / str(g)).resolve() for g in tab["genesets"]}
    ref_tab = tab.get("reference")
    if ref_tab is not None:
        params = _reference_params(folder, ref_tab, params, log)
        if isinstance(ref_tab, dict):
            skip |= {(folder / str(ref_tab.get(k, "-"))).resolve() for k in ("path", "labels")}
    if sc_dir.is_dir():
        for item in sorted(sc_dir.iterdir()):
            r_item = item.resolve()
            if item.name.startswith(".") or r_item in skip or r_item in declared_paths \
                    or _detect_format(item) is None:
                continue
            log.add(f"singlecell/{item.name}", "undeclared sample: counts present but not "
                    f"listed in {sheet_name}", column="path",
                    expected=f"a row of {sheet_name} for every count matrix")
    if params.time_order:
        known = set(sheet["time_point"])
        for t in params.time_order:
            if t not in known:
                log.add("study.toml", "time point not declared in the sample sheet",
                        column="singlecell.time_order", value=t,
                        expected="one of " + ", ".join(sorted(known)))
    log.raise_if_any()
    ooc, why = _choose_route(folder, sheet, route, params)
    if ooc:
        return _out_of_core_study(folder, tab, sheet, sheet_name, params, route, why, log)

    parts, warns = [], []
    for _, r in sheet.iterrows():
        label = r["path"]
        fmt = (r.get("format") or None) if "format" in sheet.columns else None
        layout = (r.get("layout") or "genes_x_cells") if "layout" in sheet.columns \
            else "genes_x_cells"
        try:
            a = read_counts(folder / r["path"], fmt, layout, label=label)
        except InputError as exc:
            log.extend(exc.problems)
            continue
        if "sample" in a.obs.columns:
            undeclared = sorted(set(a.obs["sample"].astype(str)) - set(sheet["sample"]))
            if undeclared:
                log.add(label, "undeclared sample in the file's obs['sample']",
                        column="sample", value=", ".join(undeclared),
                        expected=f"samples declared in {sheet_name}")
                continue
            a = a[a.obs["sample"].astype(str) == r["sample"]].copy()
        warns += check_counts(a, label, log)
        missing = [f for f in params.construct_features if f not in a.var_names]
        if missing:
            log.add(label, "construct feature not found in the count matrix",
                    column="singlecell.construct_features", value=", ".join(missing),
                    expected="features of the reference extended with the CAR construct "
                             "(see docs/singlecell.md)")
        if a.var_names.duplicated().any():
            warns.append(f"{label}: duplicate feature names made unique (name-1, name-2...)")
            a.var_names_make_unique()
        a.obs = pd.DataFrame({"sample": r["sample"], "time_point": r["time_point"],
                              "source": r["source"],
                              **({"day": r["day"]} if "day" in sheet.columns else {}),
                              **({"patient": r["patient"]} if "patient" in sheet.columns
                                 else {})},
                             index=[f"{r['sample']}:{b}" for b in a.obs_names])
        a.var = pd.DataFrame(index=a.var_names)
        parts.append(a)
    log.raise_if_any()
    genes = parts[0].var_names
    for a, (_, r) in zip(parts[1:], list(sheet.iterrows())[1:], strict=True):
        if not a.var_names.equals(genes):
            common = genes.intersection(a.var_names)
            warns.append(f"{r['path']}: feature sets differ between samples; "
                         f"{len(common)} common features kept")
            genes = common
    adata = ad.concat([p[:, genes] for p in parts], join="inner")
    if sp.issparse(adata.X):
        adata.X.data = np.round(adata.X.data)
    origin = None
    if "origin_file" in tab:
        origin = _read_origin(folder, str(tab["origin_file"]), adata, log, warns)
        if "donor_sex" in tab:
            warns.append("origin_file given: per-cell origin read from it; donor_sex (the "
                         "sex-gene proxy) not used")
        log.raise_if_any()
    return SingleCellStudy(folder, params, sheet, adata, origin, warns, route=why)


def _fmt(r: pd.Series) -> str | None:
    return (r.get("format") or None) if "format" in r.index else None


def _choose_route(folder: Path, sheet: pd.DataFrame, route: Route, params: Params
                  ) -> tuple[bool, str]:
    """In memory or out of core, and why (``out_of_core = "auto"``: by the estimate)."""
    if route.out_of_core is not True and route.out_of_core != "auto":
        return False, "in memory"
    if route.out_of_core is True:
        return True, "out of core (out_of_core = true)"
    cells = nnz = 0
    seen = set()
    for _, r in sheet.iterrows():
        p = (folder / r["path"]).resolve()
        if p in seen:
            continue
        seen.add(p)
        try:
            c, n = stored_counts(p, _fmt(r))
        except (OSError, KeyError, ValueError):
            continue  # unreadable: the in-memory reader reports it
        cells, nnz = cells + c, nnz + n
    need = in_memory_bytes(cells, nnz, params.n_top_genes)
    budget = route.memory_gb * 1e9  # type: ignore[operator]
    how = (f"the in-memory route's estimated peak {need / 1e9:.2f} GB ({cells:,} cells, "
           f"{nnz:,} stored counts) vs memory_gb = {route.memory_gb:g}")
    return need > budget, ("out of core (out_of_core = \"auto\": " if need > budget
                           else "in memory (out_of_core = \"auto\": ") + how + ")"


def out_of_core_parts(folder: str | Path, sheet: pd.DataFrame) -> list:
    """The declared samples as :class:`remission.singlecell.outofcore.Part` (sheet order).

    Parameters
    ----------
    folder : str or Path
        Study folder.
    sheet : pandas.DataFrame
        The sample sheet (``sample``, ``path``, ``time_point``, ``source``, optional
        ``day`` / ``patient``).

    Returns
    -------
    list of Part
        One per sample: the .h5ad, its name in messages, the sample and its ``obs``
        values (as :func:`load_singlecell` sets them).

    Examples
    --------
    >>> sheet = pd.DataFrame({"sample": ["p"], "path": ["singlecell/p.h5ad"],
    ...                       "time_point": ["product"], "source": ["product"]})
    >>> out_of_core_parts("study", sheet)[0].obs
    (('sample', 'p'), ('time_point', 'product'), ('source', 'product'))
    """
    from remission.singlecell.outofcore import Part

    cols = ["sample", "time_point", "source",
            *(c for c in ("day", "patient") if c in sheet.columns)]
    return [Part(Path(folder) / r["path"], r["path"], r["sample"],
                 tuple((c, r[c]) for c in cols)) for _, r in sheet.iterrows()]


def _out_of_core_study(folder: Path, tab: dict, sheet: pd.DataFrame, sheet_name: str,
                       params: Params, route: Route, why: str, log: ProblemLog
                       ) -> SingleCellStudy:
    """Declared samples checked without reading their counts (cells' obs only)."""
    import anndata as ad

    from remission.singlecell.outofcore import BlockSource

    for line, r in sheet.iterrows():
        if (_fmt(r) or _detect_format(folder / r["path"])) != "h5ad":
            log.add(sheet_name, "the out-of-core route reads .h5ad files only", row=line,
                    column="path", value=r["path"],
                    expected="an .h5ad with the counts stored as CSR (convert it once: "
                             "docs/singlecell.md, 'Data larger than memory'), or "
                             "out_of_core = false")
    log.raise_if_any()
    parts = out_of_core_parts(folder, sheet)
    try:  # CSR, sample column, barcodes, construct features, same features
        src = BlockSource(parts, params.construct_features, route.chunk_cells)
    except InputError as exc:
        log.extend(exc.problems)
        log.raise_if_any()
    obs = src.obs
    src.close()
    cells = ad.AnnData(obs=obs)
    warns: list[str] = []
    origin = None
    if "origin_file" in tab:
        origin = _read_origin(folder, str(tab["origin_file"]), cells, log, warns)
        if "donor_sex" in tab:
            warns.append("origin_file given: per-cell origin read from it; donor_sex (the "
                         "sex-gene proxy) not used")
        log.raise_if_any()
    return SingleCellStudy(folder, params, sheet, cells, origin, warns, parts,
                           route.chunk_cells, why)


def _geneset_params(folder: Path, value: object, params: Params, log: ProblemLog) -> Params:
    """``genesets = ["a.gmt", ...]`` -> shipped sets plus the study's (study's win)."""
    from dataclasses import replace

    from remission.stats.enrichment import builtin_genesets, read_gmt

    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        log.add("study.toml", "must be a list of GMT file paths", column="singlecell.genesets",
                value=value, expected='["singlecell/my_sets.gmt"]')
        return params
    sets = dict(builtin_genesets())
    for name in value:
        try:
            sets.update(read_gmt(folder / name))
        except InputError as exc:
            log.extend(exc.problems)
    return replace(params, genesets=sets)


def _reference_params(folder: Path, ref_tab: object, params: Params, log: ProblemLog
                      ) -> Params:
    """``[singlecell.reference]`` (path, label_key, labels) -> ``params.reference``."""
    from dataclasses import replace

    from remission.singlecell.labeltransfer import load_reference

    if not isinstance(ref_tab, dict) or not isinstance(ref_tab.get("path"), str):
        log.add("study.toml", "must be a table with a path", column="singlecell.reference",
                value=ref_tab, expected='{ path = "singlecell/reference.csv" }')
        return params
    for k in ref_tab:
        if k not in _REF_KEYS:
            log.add("study.toml", "unknown key", column=f"singlecell.reference.{k}",
                    expected="one of " + ", ".join(sorted(_REF_KEYS)))
    labels = ref_tab.get("labels")
    try:
        ref = load_reference(folder / ref_tab["path"], str(ref_tab.get("label_key", "label")),
                             folder / str(labels) if labels else None, file=ref_tab["path"])
    except InputError as exc:
        log.extend(exc.problems)
        return params
    return replace(params, reference=ref)


def _read_origin(folder: Path, name: str, adata: anndata.AnnData, log: ProblemLog,
                 warns: list[str]) -> pd.Series | None:
    """Per-cell origin (barcode, sample, origin), e.g. converted from vireo's donor_ids.tsv.

    The study's one per-cell origin input; the vocabulary is
    :data:`remission.immunogenetics.origin.ORIGINS` (blank / ``unassigned`` =
    undetermined). Cells not listed are undetermined.
    """
    from remission.immunogenetics.origin import ORIGINS, normalise_origin

    p = folder / name
    if not p.exists():
        log.add(name, "origin file not found", column="singlecell.origin_file")
        return None
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    for c in ("barcode", "sample", "origin"):
        if c not in df.columns:
            log.add(name, "required column is missing", column=c)
    if log:
        return None
    df.index = range(2, len(df) + 2)
    calls, bad = normalise_origin(df["origin"])
    for line in df.index[bad]:
        log.add(name, "unknown origin", row=line, column="origin", value=df.at[line, "origin"],
                expected="one of " + ", ".join(f'"{o}"' for o in ORIGINS)
                         + ' (blank or "unassigned" = undetermined)')
    samples = set(adata.obs["sample"].astype(str))
    for line in df.index[~df["sample"].isin(samples)]:
        log.add(name, "sample not in the sample sheet", row=line, column="sample",
                value=df.at[line, "sample"], expected="one of " + ", ".join(sorted(samples)))
    keys = df["sample"] + ":" + df["barcode"]
    for line in df.index[keys.duplicated()]:
        log.add(name, "cell listed twice", row=line, column="barcode",
                value=df.at[line, "barcode"], expected="one row per sample and barcode")
    if log:
        return None
    known = keys.isin(adata.obs_names)
    if not known.any():
        log.add(name, "no barcode matches a cell of the count matrices", column="barcode",
                value=df["barcode"].iloc[0],
                expected="barcodes as in the matrices (e.g. AAACCTGAGAAACCAT-1)")
        return None
    if not known.all():
        warns.append(f"{name}: {int((~known).sum())} of {len(df)} listed barcodes match no "
                     "cell of the count matrices and were ignored")
    return pd.Series(calls[known.to_numpy()], index=keys[known].to_numpy()).reindex(
        adata.obs_names).fillna("undetermined")


def _gz(text: str) -> bytes:
    import gzip
    import io as _io

    buf = _io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:
        fh.write(text.encode("utf-8"))
    return buf.getvalue()


def write_10x_mtx(adata: anndata.AnnData, folder: str | Path,
                  gene_ids: pd.Series | None = None) -> Path:
    """Write raw counts as a 10x v3 ``filtered_feature_bc_matrix`` folder (deterministic).

    ``matrix.mtx.gz`` (features x barcodes, MatrixMarket coordinate integer),
    ``features.tsv.gz`` (id, name, "Gene Expression") and ``barcodes.tsv.gz``; gzip
    headers carry no time stamp, so the same counts give the same bytes. The folder
    appears whole or not at all.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x features, integer counts.
    folder : str or Path
        Output folder.
    gene_ids : pandas.Series, optional
        Feature IDs (default: the names).

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.simulate import tiny
    >>> a, d = tiny("counts")[:4, :6], Path(tempfile.mkdtemp())
    >>> sorted(p.name for p in write_10x_mtx(a, d / "one").iterdir())
    ['barcodes.tsv.gz', 'features.tsv.gz', 'matrix.mtx.gz']
    >>> _ = write_10x_mtx(a, d / "two")
    >>> (d / "one/matrix.mtx.gz").read_bytes() == (d / "two/matrix.mtx.gz").read_bytes()
    True
    """
    from remission.io.atomic import staged_dir

    X = sp.csc_matrix(adata.X).astype(np.int64)  # columns = features
    coo = X.T.tocoo()  # features x cells
    order = np.lexsort((coo.row, coo.col))
    r, c, v = coo.row[order] + 1, coo.col[order] + 1, coo.data[order]
    head = ("%%MatrixMarket matrix coordinate integer general\n"
            f"{X.shape[1]} {X.shape[0]} {len(v)}\n")
    body = "\n".join(f"{a} {b} {x}" for a, b, x in zip(r.tolist(), c.tolist(), v.tolist(),
                                                          strict=True))
    ids = gene_ids if gene_ids is not None else pd.Series(adata.var_names,
                                                           index=adata.var_names)
    feats = "".join(f"{ids[g]}\t{g}\tGene Expression\n" for g in adata.var_names)
    bcs = "".join(f"{b}\n" for b in adata.obs_names)
    with staged_dir(folder) as tmp:
        (tmp / "matrix.mtx.gz").write_bytes(_gz(head + body + "\n"))
        (tmp / "features.tsv.gz").write_bytes(_gz(feats))
        (tmp / "barcodes.tsv.gz").write_bytes(_gz(bcs))
    return Path(folder)
