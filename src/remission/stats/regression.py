"""Logistic regression (ML or Firth-penalised) with odds ratios and CIs.

* Maximum likelihood via statsmodels' GLM (binomial, logit), as R ``glm``. CIs are
  profile-likelihood (R ``confint`` on a glm: MASS's profile method; R computes it on a
  grid with spline interpolation, we solve the profile equation exactly) or Wald.
* Firth's bias-reduced logistic regression (penalty ½·log|I(β)|; Firth 1993, Heinze &
  Schemper 2002) with profile-penalised-likelihood CIs and penalised likelihood-ratio
  tests, the method of R ``logistf``: for coefficient j the restricted fit fixes β_j and
  maximises the penalised likelihood whose penalty keeps the full design.
* ``method="auto"`` uses Firth when the data are separated (ML diverges) or events per
  variable are < 10, and says why in the Result.

References
----------
Firth D. Biometrika 1993;80:27-38.
Heinze G, Schemper M. Stat Med 2002;21:2409-19.
Venables WN, Ripley BD. Modern Applied Statistics with S, 4th ed. 2002 (profile CIs).
Peduzzi P, et al. J Clin Epidemiol 1996;49:1373-9 (events per variable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from remission.errors import ProblemLog
from remission.results import Result
from remission.stats.profile import profile_limits

REG_REFS = ("Firth D. Biometrika 1993;80:27-38.",
            "Heinze G, Schemper M. Stat Med 2002;21:2409-19.",
            "Venables WN, Ripley BD. Modern Applied Statistics with S. 2002.")


def _loglik(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = x @ beta
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _penalised(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = x @ beta
    p = 1 / (1 + np.exp(-eta))
    w = p * (1 - p)
    sign, logdet = np.linalg.slogdet(x.T @ (w[:, None] * x))
    return _loglik(beta, x, y) + 0.5 * logdet if sign > 0 else -np.inf


def _newton(x: np.ndarray, y: np.ndarray, firth: bool, fixed: dict[int, float] | None = None,
            start: np.ndarray | None = None, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """(Penalised) Newton–Raphson with step halving; ``fixed`` pins coefficients."""
    fixed = fixed or {}
    p = x.shape[1]
    free = np.array([j for j in range(p) if j not in fixed], int)
    beta = np.zeros(p) if start is None else start.copy()
    for j, v in fixed.items():
        beta[j] = v
    obj = _penalised if firth else _loglik
    cur = obj(beta, x, y)
    for _ in range(max_iter):
        eta = x @ beta
        pr = 1 / (1 + np.exp(-eta))
        w = pr * (1 - pr)
        info = x.T @ (w[:, None] * x)
        resid = y - pr
        if firth:  # Firth-modified score: X'(y - p + h(1/2 - p)), h from the full design
            xw = x * np.sqrt(w)[:, None]
            h = np.einsum("ij,jk,ik->i", xw, np.linalg.pinv(info), xw)
            resid = resid + h * (0.5 - pr)
        u = x.T @ resid
        if len(free) == 0:
            break
        step = np.zeros(p)
        step[free] = np.linalg.solve(info[np.ix_(free, free)], u[free])
        mx = np.max(np.abs(step))
        if mx > 5:  # logistf's maxstep
            step *= 5 / mx
        for _ in range(40):
            new = beta + step
            val = obj(new, x, y)
            if val >= cur - 1e-12 * abs(cur):
                break
            step /= 2
        beta, delta = new, val - cur
        cur = val
        if np.max(np.abs(step)) < 1e-10 and abs(delta) < 1e-12 * max(1.0, abs(cur)):
            break
    return beta, cur


def _profile_ci(j: int, beta: np.ndarray, best: float, se: float, level: float,
                prof: Callable[[int, float, np.ndarray], float]) -> tuple[float, float]:
    """Solve 2(best - prof(b)) = chi2_{1,level} on each side of beta_j."""
    crit = stats.chi2.ppf(level, 1)

    def f(b: float) -> float:
        return 2 * (best - prof(j, b, beta)) - crit

    return profile_limits(f, beta[j], max(se, 0.1), max_doublings=60, xtol=1e-12,
                          rtol=1e-12)


@dataclass
class LogisticFit:
    names: list[str]
    coef: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p: np.ndarray
    method: Literal["ml", "firth"]
    ci: Literal["profile", "wald"]
    loglik: float
    n: int
    events: int
    why: str
    auto: bool = False


def _covariate_names(covariates: str | Sequence[str]) -> list[str]:
    """Covariate columns as a list; one name alone is a list of one, as Cox reads it
    (not its letters)."""
    return [covariates] if isinstance(covariates, str) else list(covariates)


def _refuse_absent(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """One InputError naming every column of ``columns`` that ``data`` lacks."""
    log = ProblemLog()
    for c in columns:
        if c not in data.columns:
            log.add("model data", "column not found", column=c,
                    expected=f"one of {list(data.columns)}")
    log.raise_if_any()


def _design(data: pd.DataFrame, outcome: str, covariates: str | Sequence[str],
            missing: str = "error") -> tuple[np.ndarray, np.ndarray, list[str]]:
    covariates = _covariate_names(covariates)
    _refuse_absent(data, [outcome, *covariates])
    log = ProblemLog()
    sub = data[[outcome, *covariates]]
    if missing == "omit":
        sub = sub.dropna().reset_index(drop=True)
    for c in sub.columns:
        for i in np.flatnonzero(sub[c].isna().to_numpy()):
            log.add("model data", "missing value", row=int(i) + 2, column=c,
                    expected="a value (or missing='omit' for complete-case analysis)")
    y = pd.to_numeric(sub[outcome], errors="coerce")
    for i in np.flatnonzero(~y.isin([0, 1]).to_numpy() & sub[outcome].notna().to_numpy()):
        log.add("model data", "outcome must be 0/1", row=int(i) + 2, column=outcome,
                value=sub[outcome].iloc[i], expected="0 or 1")
    if not log and y.nunique() == 1:
        log.add("model data", "outcome takes one value only, its odds cannot be modelled",
                column=outcome, value=y.iloc[0], expected="both 0 and 1 (events and "
                "non-events)")
    log.raise_if_any()
    from remission.stats.design import check_design, design

    x, names, _ = design(sub, covariates)
    check_design(x, names)
    return np.column_stack([np.ones(len(sub)), x]), y.to_numpy(float), ["(Intercept)", *names]


def _ml_separated(x: np.ndarray, y: np.ndarray) -> bool:
    """True when ML diverges (complete or quasi-complete separation)."""
    try:
        beta, _ = _newton(x, y, firth=False, max_iter=60)
    except np.linalg.LinAlgError:
        return True  # information became singular while a coefficient ran off
    eta = x @ beta
    return bool(np.max(np.abs(beta)) > 15 or np.max(np.abs(eta)) > 30)


def logistic_fit(data: pd.DataFrame, outcome: str, covariates: str | Sequence[str], *,
                 method: Literal["auto", "ml", "firth"] = "auto",
                 ci: Literal["profile", "wald"] = "profile", conf: float = 0.95,
                 missing: str = "error") -> LogisticFit:
    """Fit the logistic model ``outcome ~ covariates`` by ML (statsmodels) or Firth, with
    profile or Wald CIs; as R ``glm(outcome ~ ..., family = binomial)`` with ``confint``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    outcome : str
        Column of the binary outcome (0/1).
    covariates : sequence of str, or str
        Columns of the covariates; text columns are dummy-coded against their first
        level (sorted), as R does for a character column.
    method : {"auto", "ml", "firth"}, default "auto"
        Maximum likelihood, Firth's penalised likelihood (Firth, Biometrika 1993;80:27-38),
        or chosen from the data: Firth when the outcome is separated or there are fewer
        than 10 events per variable, otherwise ML (the choice and why are reported).
    ci : {"profile", "wald"}, default "profile"
        Profile-(penalised-)likelihood or Wald confidence intervals.
    conf : float, default 0.95
        Confidence level.
    missing : {"error", "omit"}, default "error"
        A missing value is an error, or the complete cases are fitted (R's default
        ``na.omit``).

    Returns
    -------
    LogisticFit
        ``names`` (``"(Intercept)"`` first), ``coef``, ``se``, ``lower``, ``upper``,
        ``p`` (Wald for ML, penalised likelihood-ratio for Firth), ``method``, ``ci``,
        ``loglik``, ``n``, ``events``, ``why`` and ``auto``.

    Raises
    ------
    ValueError
        For an unknown ``method``, ``ci`` or ``missing``.
    remission.errors.InputError
        For a missing column, a non-binary or constant outcome or (with
        ``missing="error"``) a missing value, naming the column and row.

    Examples
    --------
    R 4.2.2 ``glm(vs ~ mpg, binomial, mtcars)``: mpg 0.4304135 (SE 0.1584220, p =
    0.006590045); the exact profile-likelihood 95 % CI (uniroot on the deviance) is
    0.1848545 to 0.8243881 (``confint``, which interpolates a spline, gives 0.18494 to
    0.82445):

    >>> import pandas as pd
    >>> mtcars = pd.DataFrame({  # R's datasets::mtcars, columns mpg, vs and am
    ...     "mpg": [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3,
    ...             15.2, 10.4, 10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2,
    ...             27.3, 26, 30.4, 15.8, 19.7, 15, 21.4],
    ...     "vs": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0,
    ...            1, 0, 1, 0, 0, 0, 1],
    ...     "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0,
    ...            1, 1, 1, 1, 1, 1, 1]})
    >>> f = logistic_fit(mtcars, "vs", ["mpg"], method="ml")
    >>> f.names
    ['(Intercept)', 'mpg']
    >>> [round(float(v), 7) for v in (f.coef[1], f.se[1], f.lower[1], f.upper[1])]
    [0.4304135, 0.158422, 0.1848545, 0.8243881]
    """
    for arg, val, allowed in [("method", method, ("auto", "ml", "firth")),
                              ("ci", ci, ("profile", "wald")),
                              ("missing", missing, ("error", "omit"))]:
        if val not in allowed:
            raise ValueError(f"{arg} must be one of {allowed}, got {val!r}")
    x, y, names = _design(data, outcome, covariates, missing)
    n, k = x.shape
    events = int(y.sum())
    why = ""
    auto = method == "auto"
    if auto:
        epv = min(events, n - events) / max(k - 1, 1)
        if _ml_separated(x, y):
            method, why = "firth", "separation: ML estimates diverge, so Firth's penalty"
        elif epv < 10:
            method, why = "firth", (f"{epv:.1f} events per variable (< 10): Firth's "
                                    "bias-reduced estimates")
        else:
            method, why = "ml", f"{epv:.1f} events per variable (>= 10): maximum likelihood"
    z = stats.norm.ppf(1 - (1 - conf) / 2)
    if method == "ml":
        import statsmodels.api as sm

        res = sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
        beta, se, best = np.asarray(res.params), np.asarray(res.bse), float(res.llf)
        pv = 2 * stats.norm.sf(np.abs(beta / se))

        def prof(j: int, b: float, start: np.ndarray) -> float:
            return _newton(x, y, False, {j: b}, start)[1]
    else:
        beta, best = _newton(x, y, firth=True)
        eta = x @ beta
        pr = 1 / (1 + np.exp(-eta))
        se = np.sqrt(np.diag(np.linalg.inv(x.T @ ((pr * (1 - pr))[:, None] * x))))

        def prof(j: int, b: float, start: np.ndarray) -> float:
            return _newton(x, y, True, {j: b}, start)[1]

        # penalised likelihood-ratio test per coefficient (logistf)
        pv = np.array([stats.chi2.sf(max(0.0, 2 * (best - prof(j, 0.0, beta))), 1)
                       for j in range(k)])
    if ci == "wald":
        lo, hi = beta - z * se, beta + z * se
    else:
        bounds = [_profile_ci(j, beta, best, se[j], conf, prof) for j in range(k)]
        lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    return LogisticFit(names, beta, se, lo, hi, pv, method, ci, best, n, events,
                       why or f"{method} requested", auto)


def logistic(data: pd.DataFrame, outcome: str, covariates: str | Sequence[str], *,
             method: Literal["auto", "ml", "firth"] = "auto",
             ci: Literal["profile", "wald"] = "profile", conf: float = 0.95,
             missing: str = "error", name: str = "regression.logistic",
             title: str | None = None, section: str = "efficacy") -> Result:
    """Logistic regression as a Result: odds ratios with their CIs, one row per
    coefficient (the intercept is in ``params``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    outcome : str
        Column of the binary outcome (0/1).
    covariates : sequence of str, or str
        Columns of the covariates; text columns are dummy-coded against their first
        level (sorted), as R does for a character column.
    method : {"auto", "ml", "firth"}, default "auto"
        Maximum likelihood, Firth's penalised likelihood (Firth, Biometrika 1993;80:27-38),
        or chosen from the data: Firth when the outcome is separated or there are fewer
        than 10 events per variable, otherwise ML (the choice and why are reported).
    ci : {"profile", "wald"}, default "profile"
        Profile-(penalised-)likelihood or Wald confidence intervals.
    conf : float, default 0.95
        Confidence level.
    missing : {"error", "omit"}, default "error"
        See :func:`logistic_fit`; omitted rows are counted in a warning.
    name, title, section : str
        Name, title and report section of the Result.

    Returns
    -------
    remission.results.Result
        Columns ``coef``, ``OR``, ``OR_lo``, ``OR_hi``, ``se``, ``p``; the method, why it
        was chosen, and warnings (Firth chosen automatically, rows omitted, fewer than 10
        patients in the rarer outcome class).

    Examples
    --------
    Odds ratio per mile per gallon, exp(0.4304135) = 1.537893, with the profile CI
    exp(0.1848545) = 1.203043 to exp(0.8243881) = 2.280485 (R: see :func:`logistic_fit`);
    14 events in 32 give 14 events per variable, so "auto" fits by maximum likelihood:

    >>> import pandas as pd
    >>> mtcars = pd.DataFrame({  # R's datasets::mtcars, columns mpg, vs and am
    ...     "mpg": [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3,
    ...             15.2, 10.4, 10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2,
    ...             27.3, 26, 30.4, 15.8, 19.7, 15, 21.4],
    ...     "vs": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0,
    ...            1, 0, 1, 0, 0, 0, 1],
    ...     "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0,
    ...            1, 1, 1, 1, 1, 1, 1]})
    >>> r = logistic(mtcars, "vs", ["mpg"])
    >>> r.table.round(6).loc["mpg", ["OR", "OR_lo", "OR_hi"]].tolist()
    [1.537893, 1.203043, 2.280485]
    >>> r.params["method"], r.rationale
    ('ml', '14.0 events per variable (>= 10): maximum likelihood')
    """
    f = logistic_fit(data, outcome, covariates, method=method, ci=ci, conf=conf,
                     missing=missing)
    tab = pd.DataFrame({"coef": f.coef, "OR": np.exp(f.coef), "OR_lo": np.exp(f.lower),
                        "OR_hi": np.exp(f.upper), "se": f.se, "p": f.p}, index=f.names)
    label = "Firth-penalised" if f.method == "firth" else "maximum-likelihood"
    ptxt = ("penalised likelihood-ratio P values" if f.method == "firth" else "Wald P values")
    pen = "penalised-" if f.method == "firth" else ""
    citxt = f"profile-{pen}likelihood" if f.ci == "profile" else "Wald"
    warns = []
    if f.auto and f.method == "firth":
        warns.append(f"method='auto' chose Firth's penalised likelihood ({f.why}); "
                     "pass method='ml' or 'firth' to choose")
    if len(data) > f.n:
        warns.append(f"{len(data) - f.n} row(s) with missing values omitted (complete-case)")
    if f.events < 10 or f.n - f.events < 10:
        warns.append(f"{min(f.events, f.n - f.events)} patients in the rarer outcome class")
    return Result(
        name=name, title=title or "Logistic regression", table=tab.iloc[1:], section=section,
        method=(f"{label} logistic regression; odds ratios with {conf:.0%} "
                f"{citxt} CIs; {ptxt}."),
        rationale=f.why, warnings=tuple(warns), references=REG_REFS,
        params={"method": f.method, "ci": f.ci, "conf": conf, "n": f.n, "events": f.events,
                "loglik": f.loglik, "intercept": float(f.coef[0])},
        roles={"coef": "estimate", "OR": "ratio", "OR_lo": "ci_low:OR", "OR_hi": "ci_high:OR",
               "se": "estimate", "p": "p"},
    )


def logistic_univariable(data: pd.DataFrame, outcome: str, covariates: str | Sequence[str], *,
                         method: Literal["auto", "ml", "firth"] = "auto",
                         ci: Literal["profile", "wald"] = "profile", conf: float = 0.95,
                         name: str = "regression.logistic_univariable",
                         section: str = "efficacy") -> Result:
    """One model per covariate (the usual 'univariable' screen); rows = coefficients.

    Each model uses the complete cases for its own covariate; the ``method`` column says
    which estimator each row came from (auto-chosen per model).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    outcome : str
        Column of the binary outcome (0/1).
    covariates : sequence of str, or str
        Columns of the covariates, one model each; text columns are dummy-coded against their first
        level (sorted), as R does for a character column.
    method : {"auto", "ml", "firth"}, default "auto"
        Maximum likelihood, Firth's penalised likelihood (Firth, Biometrika 1993;80:27-38),
        or chosen from the data: Firth when the outcome is separated or there are fewer
        than 10 events per variable, otherwise ML (the choice and why are reported).
    ci : {"profile", "wald"}, default "profile"
        Profile-(penalised-)likelihood or Wald confidence intervals.
    conf : float, default 0.95
        Confidence level.
    name, section : str
        Name and report section of the Result.

    Returns
    -------
    remission.results.Result
        One row per coefficient: ``coef``, ``OR``, ``OR_lo``, ``OR_hi``, ``se``, ``p``,
        ``n``, ``events``, ``method``.

    Examples
    --------
    R 4.2.2 ``glm(vs ~ am, binomial, mtcars)``: am 0.6931472 (p = 0.3436289); the mpg
    row is the model of :func:`logistic`:

    >>> import pandas as pd
    >>> mtcars = pd.DataFrame({  # R's datasets::mtcars, columns mpg, vs and am
    ...     "mpg": [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3,
    ...             15.2, 10.4, 10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2,
    ...             27.3, 26, 30.4, 15.8, 19.7, 15, 21.4],
    ...     "vs": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0,
    ...            1, 0, 1, 0, 0, 0, 1],
    ...     "am": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0,
    ...            1, 1, 1, 1, 1, 1, 1]})
    >>> r = logistic_univariable(mtcars, "vs", ["mpg", "am"], method="ml", ci="wald")
    >>> r.table[["coef", "p"]].round(7).values.tolist()
    [[0.4304135, 0.00659], [0.6931472, 0.3436289]]
    """
    frames, notes, firth = [], [], []
    covariates = _covariate_names(covariates)
    _refuse_absent(data, [outcome, *covariates])
    for c in covariates:
        sub = data[[outcome, c]].dropna().reset_index(drop=True)
        f = logistic_fit(sub, outcome, [c], method=method, ci=ci, conf=conf)
        t = pd.DataFrame({"coef": f.coef, "OR": np.exp(f.coef), "OR_lo": np.exp(f.lower),
                          "OR_hi": np.exp(f.upper), "se": f.se, "p": f.p, "n": f.n,
                          "events": f.events, "method": f.method}, index=f.names).iloc[1:]
        frames.append(t)
        notes.append(f"{c}: {f.why}")
        if f.auto and f.method == "firth":
            firth.append(c)
    return Result(
        name=name, title="Univariable logistic regression", table=pd.concat(frames),
        section=section,
        method=(f"Separate logistic model per covariate; {conf:.0%} {ci} CIs; Firth's "
                "penalised likelihood where chosen."),
        rationale="; ".join(notes), references=REG_REFS,
        warnings=((f"method='auto' chose Firth's penalised likelihood for {', '.join(firth)} "
                   "(see rationale)",) if firth else ()),
        params={"method": method, "ci": ci, "conf": conf},
    )
