"""Markdown renderers for the simulation's calibration outputs (docs/simulation.md).

:mod:`remission.sim.calibrate` and :mod:`remission.sim.abc` compute tables (pandas
DataFrames); these functions only format them, so the model modules never write
Markdown and the same table can be rendered elsewhere (HTML, JSON) unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["abc_markdown", "calibration_markdown", "markdown_table"]


def markdown_table(df: pd.DataFrame, fmt: str = "{:.3g}") -> str:
    """Any table as a Markdown table, index first.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index (and index name) becomes the first column.
    fmt : str, default ``"{:.3g}"``
        Format applied to float cells; other cells are written with ``str``.

    Returns
    -------
    str
        The Markdown table, one line per row, no trailing newline.

    Examples
    --------
    >>> df = pd.DataFrame({"low": [0.69306], "n": ["40"]},
    ...                   index=pd.Index(["car_expansion"], name="parameter"))
    >>> print(markdown_table(df))
    | parameter | low | n |
    |---|---|---|
    | car_expansion | 0.693 | 40 |
    """
    cols = [str(c) for c in df.columns]
    lines = [f"| {df.index.name or ''} | " + " | ".join(cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for k, r in df.iterrows():
        cells = [fmt.format(v) if isinstance(v, float | np.floating) else str(v)
                 for v in r.to_numpy()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibration_markdown(table: pd.DataFrame) -> str:
    """The calibration table of :func:`remission.sim.calibrate.calibration_table` as
    Markdown: published value, simulated median, 95 % interval, and whether the
    published value lies inside it.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by target, with columns ``description``, ``kind`` (``"day"`` values are
        written without decimals, ``"share"`` rows show the simulated mean only, others
        three decimals), ``published``, ``simulated_median``, ``simulated_mean``,
        ``interval_low``, ``interval_high`` and ``published_within_interval``
        (True, False or None).

    Returns
    -------
    str
        The Markdown table (a miss is written in bold), no trailing newline.

    Examples
    --------
    >>> t = pd.DataFrame([
    ...     {"target": "002.orr", "description": "ORR", "kind": "proportion",
    ...      "published": 0.8, "simulated_median": 0.75, "simulated_mean": 0.74,
    ...      "interval_low": 0.5, "interval_high": 0.95,
    ...      "published_within_interval": True},
    ...     {"target": "000.power", "description": "share P < 0.05", "kind": "share",
    ...      "published": float("nan"), "simulated_median": 0.0, "simulated_mean": 0.2,
    ...      "interval_low": 0.0, "interval_high": 1.0,
    ...      "published_within_interval": None}]).set_index("target")
    >>> print(calibration_markdown(t))
    | target | published | simulated median | 95 % interval | within |
    |---|---|---|---|---|
    | 002.orr: ORR | 0.800 | 0.750 | 0.500-0.950 | yes |
    | 000.power: share P < 0.05 | - | 0.200 (mean) | - | - |
    """
    lines = ["| target | published | simulated median | 95 % interval | within |",
             "|---|---|---|---|---|"]
    for key, r in table.iterrows():
        fmt = "{:.0f}" if r["kind"] == "day" else "{:.3f}"
        if r["kind"] == "share":  # a 0/1 per replicate: the share itself is the mean
            lines.append(f"| {key}: {r['description']} | - | "
                         f"{fmt.format(r['simulated_mean'])} (mean) | - | - |")
            continue
        pub = "-" if not np.isfinite(r["published"]) else fmt.format(r["published"])
        within = {True: "yes", False: "**no**", None: "-"}[r["published_within_interval"]]
        lines.append(f"| {key}: {r['description']} | {pub} | {fmt.format(r['simulated_median'])}"
                     f" | {fmt.format(r['interval_low'])}-{fmt.format(r['interval_high'])}"
                     f" | {within} |")
    return "\n".join(lines)


def abc_markdown(command: str, *, history: Sequence[Mapping[str, float]] | None = None,
                 posterior: pd.DataFrame | None = None,
                 predictive: pd.DataFrame | None = None, predict_stream: int | None = None,
                 leave_one_seed_out: Mapping[str, pd.DataFrame] | None = None) -> str:
    """The report of an ABC-SMC fit (``python -m remission.sim.abc``) as Markdown.

    Parameters
    ----------
    command : str
        The command that produced the fit, quoted at the top.
    history : sequence of mapping, optional
        One record per generation (``generation``, ``epsilon``, ``acceptance``,
        ``simulated``), as in :attr:`remission.sim.abc.AbcResult.history`.
    posterior : pandas.DataFrame, optional
        :meth:`remission.sim.abc.AbcResult.summary` (weighted median and 95 % interval).
    predictive : pandas.DataFrame, optional
        :func:`remission.sim.abc.predictive_table` of the posterior predictive.
    predict_stream : int, optional
        The random stream of the posterior-predictive virtual patients (named in the
        heading of ``predictive``).
    leave_one_seed_out : mapping of str to pandas.DataFrame, optional
        Per seed left out, the predictive table of the fit on the other seeds.

    Returns
    -------
    str
        The document, ending with a newline. The fit sections appear when ``history``
        is given, the leave-one-seed-out section when ``leave_one_seed_out`` is given.

    Examples
    --------
    >>> print(abc_markdown("python -m remission.sim.abc out",
    ...                    history=[{"generation": 0, "epsilon": 19.3, "acceptance": 0.5,
    ...                              "simulated": 80}],
    ...                    posterior=pd.DataFrame({"median": [1.04]}, index=["car_expansion"]),
    ...                    predictive=pd.DataFrame({"median": [0.85]}, index=["000.orr_ven"]),
    ...                    predict_stream=7), end="")
    # ABC-SMC fit of the in-silico trial model
    <BLANKLINE>
    Command: `python -m remission.sim.abc out`
    <BLANKLINE>
    ## Generations
    <BLANKLINE>
    | generation | epsilon | acceptance | simulated |
    |---|---|---|---|
    | 0 | 19.3 | 0.5 | 80 |
    <BLANKLINE>
    ## Posterior (weighted median, 95 % interval)
    <BLANKLINE>
    |  | median |
    |---|---|
    | car_expansion | 1.04 |
    <BLANKLINE>
    ## Posterior predictive on fresh virtual patients (stream 7)
    <BLANKLINE>
    |  | median |
    |---|---|
    | 000.orr_ven | 0.85 |
    """
    md = ["# ABC-SMC fit of the in-silico trial model", "", f"Command: `{command}`"]
    if history is not None:
        if posterior is None or predictive is None:
            raise ValueError("an ABC fit report needs history, posterior and predictive")
        md += ["", "## Generations", "",
               markdown_table(pd.DataFrame(list(history)).set_index("generation")),
               "", "## Posterior (weighted median, 95 % interval)", "",
               markdown_table(posterior), "",
               "## Posterior predictive on fresh virtual patients (stream "
               f"{predict_stream})", "", markdown_table(predictive)]
    if leave_one_seed_out is not None:
        md += ["", "## Leave one seed out (fit on the other three, predict this one)"]
        for k, v in leave_one_seed_out.items():
            md += ["", f"### seed {k} left out", "", markdown_table(v)]
    return "\n".join(md) + "\n"
