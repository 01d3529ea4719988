"""Many curves at once: a batched Levenberg–Marquardt in NumPy, falling back to the
per-curve solver (:func:`~remission.lab.doseresponse.fit.fit_curve`) for curves it cannot
settle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from remission.lab.doseresponse.fit import fit_curve
from remission.lab.doseresponse.model import (
    MODELS,
    PARAMS,
    free_parameters,
    jacobian,
    ll_curve,
)


@dataclass(frozen=True)
class BatchFit:
    """Fits of N curves: arrays of shape (N, 4) for params/se and (N,) for the rest."""

    params: np.ndarray
    se: np.ndarray
    rss: np.ndarray
    df: np.ndarray
    converged: np.ndarray
    fallback: np.ndarray  # True where the per-curve solver was used

    @property
    def ic50(self) -> np.ndarray:
        return np.exp(self.params[:, 2])


def fit_many(dose: np.ndarray, response: np.ndarray, model: str = "LL.4",
             max_iter: int = 200, tol: float = 1e-10) -> BatchFit:
    """Fit N log-logistic curves at once; the same estimates as :func:`fit_curve` per curve.

    Batched Levenberg–Marquardt (Marquardt 1963 diagonal scaling) over all curves in numpy
    from the self-start; doubtful fits (unsettled, steeper than the dose grid, midpoint > 1
    log unit outside the doses) are retried from two other starting slopes and the lowest
    RSS kept. A curve still unsettled, or with non-finite standard errors, is refitted with
    :func:`fit_curve`'s per-curve solver.

    Parameters
    ----------
    dose, response : ndarray of float
        Shape (N, m): one row per curve; NaN response = missing; doses > 0.
    model : {"LL.4", "LL.3"}, default "LL.4"
        Which parameters are free.
    max_iter : int, default 200
        Iterations of the batched solver.
    tol : float, default 1e-10
        Relative convergence tolerance.

    Returns
    -------
    BatchFit
        ``params`` and ``se`` (N, 4) in ``(A, B, xmid, scal)`` order, ``rss``, ``df``,
        ``converged``, ``fallback`` (True where the per-curve solver was used), ``ic50``.

    References
    ----------
    Marquardt DW. J Soc Ind Appl Math 1963;11:431-441.

    Examples
    --------
    R ``nls(response ~ SSfpl(log(dose), A, B, xmid, scal))`` on each row gives xmid
    1.2738109 and 2.1706374 (see :func:`~remission.lab.doseresponse.joint.fit_joint`):

    >>> dose = np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2)
    >>> y = np.array([[101, 97, 99, 95, 88, 84, 60, 52, 25, 21, 9, 7, 4, 2],
    ...               [100, 98, 97, 96, 93, 90, 80, 74, 48, 44, 15, 12, 5, 3.0]])
    >>> b = fit_many(np.vstack([dose, dose]), y)
    >>> b.params[:, 2].round(6).tolist(), b.converged.tolist(), b.fallback.tolist()
    ([1.273811, 2.170637], [True, True], [False, False])
    """
    X = np.asarray(dose, float)
    Y = np.asarray(response, float)
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError("dose and response must both be (N curves, m points)")
    W = (np.isfinite(Y) & np.isfinite(X) & (X > 0)).astype(float)
    U = np.where(W > 0, np.log(np.where(X > 0, X, 1.0)), 0.0)
    Y0 = np.where(W > 0, Y, 0.0)
    fx = MODELS[model]  # LL.3 here fixes B (the high-dose asymptote): falling curves only
    free = free_parameters(fx)
    fi = [PARAMS.index(k) for k in free]
    P0 = _start_many(U, Y0, W, fx)
    P, cur_rss, done = _lm_batch(U, Y0, W, P0, fi, max_iter, tol)
    # further starting slopes only where the first fit looks doubtful: not settled, a
    # transition steeper than the dose grid (a typical local minimum), the midpoint far
    # outside the doses, or a non-positive scale; clean fits keep their single start
    umin = np.min(np.where(W > 0, U, np.inf), axis=1)
    umax = np.max(np.where(W > 0, U, -np.inf), axis=1)
    with np.errstate(invalid="ignore"):
        steps = np.diff(np.sort(np.where(W > 0, U, np.inf), axis=1), axis=1)
        spacing = np.min(np.where(np.isfinite(steps) & (steps > 1e-12), steps, np.inf), 1)
        doubtful = (~done | ~np.isfinite(P[:, 3]) | (P[:, 3] <= 0.1 * spacing)
                    | (P[:, 2] < umin - 1.0) | (P[:, 2] > umax + 1.0))
    idx = np.flatnonzero(doubtful & np.all(np.isfinite(P0), axis=1))
    for mult in (0.3, 3.0):
        if idx.size == 0:
            break
        Pm = P0[idx].copy()
        Pm[:, 3] *= mult
        p2, r2, d2 = _lm_batch(U[idx], Y0[idx], W[idx], Pm, fi, max_iter, tol)
        better = d2 & ((r2 < cur_rss[idx] * (1 - 1e-12)) | ~done[idx])
        j = idx[better]
        P[j], cur_rss[j], done[j] = p2[better], r2[better], True
    return _finish_many(X, Y, W, U, P, cur_rss, done, fi, model)


def _start_many(U, Y0, W, fx) -> np.ndarray:
    """Vectorised :func:`_start` over rows (masked by W)."""
    N = U.shape[0]
    big = np.inf
    umin = np.min(np.where(W > 0, U, big), axis=1)
    umax = np.max(np.where(W > 0, U, -big), axis=1)
    with np.errstate(all="ignore"):
        at_lo = (umin[:, None] == U) & (W > 0)
        at_hi = (umax[:, None] == U) & (W > 0)
        a0 = (Y0 * at_lo).sum(1) / at_lo.sum(1)
        b0 = (Y0 * at_hi).sum(1) / at_hi.sum(1)
        a0 = np.full(N, fx["A"]) if "A" in fx else a0
        b0 = np.full(N, fx["B"]) if "B" in fx else b0
        span = b0 - a0
        ptp = np.max(np.where(W > 0, Y0, -big), 1) - np.min(np.where(W > 0, Y0, big), 1)
        tiny = np.abs(span) < 1e-12 * np.maximum(1.0, np.abs(a0))
        span = np.where(tiny, np.where(ptp > 0, ptp, 1.0) * np.where(b0 >= a0, 1, -1), span)
        pad = 0.05 * span
        frac = np.clip((Y0 - (a0 - pad)[:, None]) / (span + 2 * pad)[:, None], 0.02, 0.98)
        zz = special.logit(frac)
        n = W.sum(1)
        mu = (U * W).sum(1) / n
        mz = (zz * W).sum(1) / n
        sxx = (W * (U - mu[:, None]) ** 2).sum(1)
        sxz = (W * (U - mu[:, None]) * (zz - mz[:, None])).sum(1)
        slope = sxz / sxx
        intercept = mz - slope * mu
        rng_u = umax - umin
        ok = (slope > 0) & np.isfinite(slope)
        scal0 = np.where(ok, 1.0 / slope, np.where(rng_u > 0, rng_u / 8.0, 1.0))
        xmid0 = np.where(ok, np.clip(-intercept / slope, umin - rng_u, umax + rng_u),
                         0.5 * (umin + umax))
    P = np.column_stack([a0, b0, xmid0, scal0])
    P[n < 2] = np.nan
    return P


def _lm_batch(U, Y0, W, P, fi, max_iter, tol):
    """Batched Levenberg-Marquardt; returns (params, rss, converged)."""
    N = U.shape[0]
    P = P.copy()

    def rss_of(p, idx):
        r = (Y0[idx] - ll_curve(U[idx], p[:, 0, None], p[:, 1, None], p[:, 2, None],
                                p[:, 3, None])) * W[idx]
        return np.einsum("nm,nm->n", r, r), r

    lam = np.full(N, 1e-3)
    active = np.all(np.isfinite(P), axis=1)
    done = np.zeros(N, bool)
    cur_rss, _ = rss_of(P, np.arange(N))
    eye = np.eye(len(fi))
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            idx = np.flatnonzero(active & ~done)
            if idx.size == 0:
                break
            p = P[idx]
            _, r = rss_of(p, idx)
            J = jacobian(U[idx], p)[..., fi] * W[idx, :, None]
            JtJ = np.einsum("nmi,nmj->nij", J, J)
            g = np.einsum("nmi,nm->ni", J, r)
            dg = np.einsum("nii->ni", JtJ)
            dg = np.maximum(dg, 1e-12 * dg.max(axis=1, keepdims=True) + 1e-300)
            # relative-offset convergence of R nls (Bates & Watts 1981): the squared norm
            # of the residual's projection on the tangent plane, g' (J'J)^-1 g, relative to
            # the RSS, from the UNDAMPED Gauss-Newton system (a damped step would shrink
            # with lambda and fake convergence). We ask offset^2 < 1e-14 (offset 1e-7),
            # stricter than nls's default offset 1e-5.
            try:
                gn = np.linalg.solve(JtJ + 1e-12 * dg[:, :, None] * eye, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                gn = np.einsum("nij,nj->ni", np.linalg.pinv(JtJ), g)
            rss_now = cur_rss[idx]
            offset2 = np.einsum("ni,ni->n", gn, g) / (rss_now + 1e-300)
            exact = rss_now <= 1e-24 * (1.0 + np.einsum("nm,nm->n", Y0[idx], Y0[idx]))
            conv = np.isfinite(offset2) & ((np.abs(offset2) < 1e-14) | exact)
            done[idx[conv]] = True
            keep = ~conv
            idx, p, g, JtJ, dg = idx[keep], p[keep], g[keep], JtJ[keep], dg[keep]
            if idx.size == 0:
                break
            Amat = JtJ + lam[idx, None, None] * dg[:, :, None] * eye
            try:
                step = np.linalg.solve(Amat, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.einsum("nij,nj->ni", np.linalg.pinv(Amat), g)
            pn = p.copy()
            pn[:, fi] += step
            new_rss, _ = rss_of(pn, idx)
            acc = np.isfinite(new_rss) & (new_rss <= cur_rss[idx]) & (pn[:, 3] > 0)
            ia = idx[acc]
            P[ia] = pn[acc]
            cur_rss[ia] = new_rss[acc]
            lam[ia] = np.maximum(lam[ia] / 10, 1e-12)
            ir = idx[~acc]
            lam[ir] *= 10
            active[ir[lam[ir] > 1e10]] = False  # stalled: leave to the per-curve solver
    return P, cur_rss, done


def _finish_many(X, Y, W, U, P, cur_rss, done, fi, model) -> BatchFit:
    """Standard errors for the batch; per-curve refit of anything unsettled."""
    N = X.shape[0]
    P = P.copy()
    cur_rss = cur_rss.copy()
    npar = len(fi)
    n_obs = W.sum(axis=1)
    df = n_obs - npar
    bad = ~done | ~np.all(np.isfinite(P), axis=1) | (P[:, 3] <= 0) | (df <= 0)
    J = jacobian(U, P)[..., fi] * W[..., None]
    JtJ = np.einsum("nmi,nmj->nij", J, J)
    SE = np.full((N, 4), np.nan)
    with np.errstate(all="ignore"):
        try:
            inv = np.linalg.inv(JtJ)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(JtJ)
        s2 = cur_rss / np.where(df > 0, df, np.nan)
        SE[:, fi] = np.sqrt(np.einsum("nii->ni", inv) * s2[:, None])
    bad |= ~np.all(np.isfinite(SE[:, fi]), axis=1)
    fallback = np.zeros(N, bool)
    converged = done.copy()
    for i in np.flatnonzero(bad):
        m = W[i] > 0
        fallback[i] = True
        try:
            # curves the batch could not settle are mostly non-estimable (an asymptote
            # drifting to infinity); a modest budget keeps them from dominating run time
            f = fit_curve(X[i, m], Y[i, m], model=model, max_nfev=100)
        except ValueError:
            converged[i] = False
            continue
        P[i] = [f.params[k] for k in PARAMS]
        SE[i] = [f.se.get(k, np.nan) for k in PARAMS]
        cur_rss[i] = f.rss
        converged[i] = f.converged
    return BatchFit(params=P, se=SE, rss=cur_rss, df=df, converged=converged, fallback=fallback)
