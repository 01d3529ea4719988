"""The dose-response figure, drawn from the fitted curves in the ``lab.doseresponse.fits``
Result: points and group means from the data, curves from the fitted parameters (no
fitting here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from remission.lab._common import new_figure
from remission.lab.doseresponse.model import ll_curve
from remission.results import Result


def plot_dose_response(data: pd.DataFrame, fits: Result,
                       name: str = "lab.doseresponse.curves") -> Figure:
    """Replicate points, group means and the fitted curves per drug (log dose axis).

    Parameters
    ----------
    data : DataFrame
        The plate table the fits were made from (``group``, ``dose``, ``response``;
        ``drug`` and ``dose_unit`` optional). Vehicle wells (dose 0) are not drawn on the
        log axis.
    fits : Result
        ``lab.doseresponse.fits`` from :func:`~remission.lab.doseresponse.results.
        dose_response_results`: each curve is drawn from its fitted ``top_A``,
        ``bottom_B``, ``log_ic50`` and ``scal``; a group without a row is labelled
        "not fitted". Nothing is fitted here.
    name : str
        Figure name.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from remission.lab.doseresponse import dose_response_results
    >>> d = pd.DataFrame({"group": "a", "dose": np.repeat([1, 3, 10, 30, 100], 2),
    ...                   "response": [99, 97, 88, 90, 52, 49, 13, 11, 4, 3]})
    >>> fig = plot_dose_response(d, dose_response_results(d)[0])
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['a (IC50 9.94)']
    """
    d = data.copy()
    if "drug" not in d:
        d["drug"] = "drug"
    d = d[d["dose"] > 0]
    table = fits.table
    drugs = list(pd.unique(d["drug"]))
    fig = new_figure(name, width=5.0 * len(drugs), height=4.0)
    axes = fig.subplots(1, len(drugs), squeeze=False)[0]
    unit = str(d["dose_unit"].iloc[0]) if "dose_unit" in d and len(d) else ""
    for ax, drug in zip(axes, drugs, strict=True):
        dd = d[d["drug"] == drug]
        for i, (grp, sub) in enumerate(dd.groupby("group", sort=False)):
            col = f"C{i}"
            ax.scatter(sub["dose"], sub["response"], s=12, alpha=0.5, color=col)
            m = sub.groupby("dose")["response"].mean()
            ax.scatter(m.index, m.values, s=30, color=col, marker="D")
            row = table[(table["drug"].astype(str) == str(drug))
                        & (table["group"].astype(str) == str(grp))] if len(table) else table
            if len(row):
                r = row.iloc[0]
                xs = np.geomspace(sub["dose"].min() / 2, sub["dose"].max() * 2, 200)
                ys = ll_curve(np.log(xs), r["top_A"], r["bottom_B"], r["log_ic50"], r["scal"])
                ax.plot(xs, ys, color=col, label=f"{grp} (IC50 {r['ic50']:.3g})")
                ax.axvline(r["ic50"], color=col, ls=":", lw=0.8)
            else:
                ax.plot([], [], color=col, label=f"{grp} (not fitted)")
        ax.set_xscale("log")
        ax.set_xlabel(f"{drug} dose ({unit})" if unit else f"{drug} dose")
        ax.set_ylabel("response")
        ax.legend(fontsize=8)
    return fig
