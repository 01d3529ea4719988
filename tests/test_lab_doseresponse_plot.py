"""The dose-response figure draws the fitted curves of the Result; it fits nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.lab import doseresponse
from remission.lab.doseresponse import dose_response_results, ll_curve, plot_dose_response


def _plate() -> pd.DataFrame:
    dose = np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2)
    y = ll_curve(np.log(dose), 100, 5, np.log(4.0), 0.8)
    return pd.concat([pd.DataFrame({"group": "ctl", "dose": dose,
                                   "response": y + np.tile([1.0, -1.0], 7)}),
                      pd.DataFrame({"group": "kd", "dose": dose,
                                    "response": ll_curve(np.log(dose), 98, 8, np.log(20.0), 0.7)
                                    + np.tile([1.5, -1.5], 7)})],
                     ignore_index=True)


def test_plot_draws_the_result_curves_without_fitting(monkeypatch) -> None:
    data = _plate()
    fits = dose_response_results(data)[0]

    def no_fit(*a, **k):
        raise AssertionError("the plot must not fit")

    for mod in (doseresponse.fit, doseresponse.batch, doseresponse.joint,
                doseresponse.results, doseresponse.plot):
        for nm in ("fit_curve", "fit_many", "fit_joint"):
            if hasattr(mod, nm):
                monkeypatch.setattr(mod, nm, no_fit)
    fig = plot_dose_response(data, fits)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    row = fits.table.set_index("group").loc["ctl"]
    assert labels[0] == f"ctl (IC50 {row['ic50']:.3g})"
    # the drawn curve is the fitted one, evaluated on the plotted grid
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("ctl"))
    xs, ys = line.get_data()
    np.testing.assert_allclose(ys, ll_curve(np.log(xs), row["top_A"], row["bottom_B"],
                                            row["log_ic50"], row["scal"]), rtol=1e-12)


def test_a_group_without_a_fit_is_labelled_not_fitted() -> None:
    data = _plate()
    fits = dose_response_results(data)[0]
    only_ctl = type(fits)(**{**fits.__dict__,
                             "table": fits.table[fits.table["group"] == "ctl"]})
    labels = plot_dose_response(data, only_ctl).axes[0].get_legend_handles_labels()[1]
    assert labels[1] == "kd (not fitted)"


def test_old_path_names_still_import() -> None:
    import remission.lab.doseresponse as dr

    for name in ("fit_curve", "fit_many", "compare_curves", "fieller_ratio", "CurveFit",
                 "dose_response_results", "normalise_to_vehicle", "profile_ic50_ci"):
        assert hasattr(dr, name)
    with pytest.raises(TypeError):
        plot_dose_response(_plate(), model="LL.4")  # the plot no longer takes fit options
