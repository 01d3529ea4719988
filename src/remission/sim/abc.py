"""Bayesian calibration of the in-silico trial model by ABC-SMC (pyabc components).

Approximate Bayesian computation by sequential Monte Carlo: a population of parameter
sets ("particles") is drawn from the prior, each is used to simulate one virtual trial
of every seed study at its published size, and the particles whose simulated targets are
closest to the published ones are kept; later generations propose from a kernel fitted
to the kept particles, re-weight by prior / proposal density and keep the closest
again, so the tolerance shrinks (Beaumont, Cornuet, Marin & Robert, Biometrika
2009;96:983, population Monte Carlo weights; the adaptive-quantile scheme and the
acceptance-rate stopping rule of Lenormand, Jabot & Deffuant, Comput Stat
2013;28:2777). The kept particles, with their weights, are the posterior: parameter
uncertainty that every prediction (:func:`posterior_predictive`) carries.

Why not ``pyabc.ABCSMC`` itself: it evaluates one particle per model call, while this
model is vectorised across virtual patients: one call simulates a whole generation
(every particle its own copy of each arm, its own virtual patients). So the generation
loop is ours (:func:`abc_smc`) and the statistics are pyabc's: the priors
(``pyabc.Distribution``/``RV``), the perturbation kernel
(``pyabc.MultivariateNormalTransition``, Silverman bandwidth) and its mixture density
for the importance weights. ``tests/test_sim_abc.py`` checks the loop against
``pyabc.ABCSMC`` and the exact posterior on a model where both can be computed.

Parameters are fitted on the log scale (``"log"`` priors: log-uniform between the
bounds) or the natural scale (``"lin"``: uniform), see :data:`PRIORS`. Virtual patients
come from random stream :data:`FIT_STREAM` and are never reused between particles or
generations; the predictive check (:func:`remission.sim.calibrate.predictive_check`)
uses other streams.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .calibrate import TARGETS, particle_targets, target_scale

#: random stream of the virtual patients of every fit (the check uses 1 and 2)
FIT_STREAM = 101
#: random stream of the posterior-predictive simulations
PREDICT_STREAM = 7

#: name -> (low, high, scale): the prior is uniform on [low, high] in that scale
PRIORS: Mapping[str, tuple[float, float, str]] = {
    "car_expansion": (0.3, 3.0, "log"),
    "car_kill_max": (1.0, 20.0, "log"),
    "il6_car": (5.0, 400.0, "log"),
    "car_exhaustion": (0.01, 0.5, "log"),
    "car_resting_fraction": (0.0, 0.95, "lin"),
    "car_neg_kill_fraction": (0.02, 1.0, "log"),
    "antigen_density_cv": (0.3, 5.0, "log"),
    "nk_expansion": (0.1, 3.0, "log"),
    "nk_kill_max": (0.2, 6.0, "log"),
    "nk_resting_fraction": (0.0, 0.95, "lin"),
    "nk_homeostatic": (0.01, 1.0, "log"),
    "nk_il6_factor": (0.01, 3.0, "log"),
    "blin_kill_max": (0.3, 5.0, "log"),
    # priming rate of the resting share (CARTmath theta); fitted only conditionally so far
    # (seeds 000 + 002 after the capacity fix, benchmarks/sim_abc/)
    "car_memory_reactivation": (0.05, 5.0, "log"),
}


def _prior(priors: Mapping[str, tuple[float, float, str]]):  # -> pyabc.Distribution
    import pyabc

    rvs = {}
    for k, (lo, hi, sc) in priors.items():
        a, b = (np.log(lo), np.log(hi)) if sc == "log" else (lo, hi)
        rvs[k] = pyabc.RV("uniform", a, b - a)
    return pyabc.Distribution(**rvs)


def to_model(x: pd.DataFrame, priors: Mapping[str, tuple[float, float, str]]
             ) -> pd.DataFrame:
    """Particles from the fitting scale (log for ``"log"`` priors) to parameter values.

    Parameters
    ----------
    x : pandas.DataFrame
        Particles on the fitting scale, one column per parameter.
    priors : Mapping
        Name -> ``(low, high, "log" | "lin")``.

    Returns
    -------
    pandas.DataFrame
        A copy with the ``"log"`` columns exponentiated.

    Examples
    --------
    >>> x = pd.DataFrame({"il6_car": [np.log(25.0)], "car_resting_fraction": [0.6]})
    >>> to_model(x, {"il6_car": (5.0, 400.0, "log"),
    ...              "car_resting_fraction": (0.0, 0.95, "lin")}).round(6).values.tolist()
    [[25.0, 0.6]]
    """
    out = x.copy()
    for k, (_, _, sc) in priors.items():
        if sc == "log":
            out[k] = np.exp(x[k])
    return out


@dataclass
class AbcResult:
    """Posterior particles (parameter values), weights, distances and the history."""

    particles: pd.DataFrame
    weights: np.ndarray
    distances: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    priors: Mapping[str, tuple[float, float, str]] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Weighted posterior median and 95 % interval of every parameter."""
        rows = {}
        for k in self.particles.columns:
            v = self.particles[k].to_numpy()
            o = np.argsort(v)
            cw = np.cumsum(self.weights[o])
            q = [float(v[o][np.searchsorted(cw, p * cw[-1])]) for p in (0.025, 0.5, 0.975)]
            rows[k] = {"low": q[0], "median": q[1], "high": q[2],
                       "prior_low": self.priors[k][0], "prior_high": self.priors[k][1]}
        return pd.DataFrame(rows).T


def _save_checkpoint(path: Path, key: dict[str, object], t: int, x: pd.DataFrame,
                     d: np.ndarray, w: np.ndarray, used: int,
                     hist: list[dict[str, float]]) -> None:
    from ..io.atomic import write_text

    doc = {"key": key, "generation": t, "used": used, "history": hist,
           "x": x.to_dict(orient="list"), "d": d.tolist(), "w": w.tolist()}
    write_text(path, json.dumps(doc) + "\n")


def _load_checkpoint(path: Path, key: dict[str, object]) -> dict[str, object] | None:
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    if doc.get("key") != key:
        raise ValueError(f"{path}: checkpoint of another fit ({doc.get('key')}); "
                         f"expected {key}: remove it or choose another --checkpoint")
    return doc


def abc_smc(model: Callable[[pd.DataFrame, int], pd.DataFrame], observed: pd.Series,
            scale: pd.Series, priors: Mapping[str, tuple[float, float, str]],
            n: int = 100, generations: int = 5, min_acceptance: float = 0.1,
            seed: int = 0, log: Callable[[str], None] | None = None,
            checkpoint: Path | None = None) -> AbcResult:
    """ABC-SMC with batched simulation.

    Parameters
    ----------
    model : ``model(params, first)`` simulates one data set per row of ``params``
        (parameter values) and returns one row of summaries per particle; ``first`` is
        the number of particles simulated before (to draw fresh random numbers)
    observed : the observed summaries
    scale : divisor of each summary in the Euclidean distance
    priors : name -> (low, high, "log" | "lin"), uniform on that scale
    n : particles kept per generation (generation 0 draws ``2 n`` from the prior)
    generations : at most this many generations after the first
    min_acceptance : stop when fewer new particles than this share beat the tolerance
    seed : seed of the proposals (NumPy's global generator, which pyabc uses)
    checkpoint : JSON file written (atomically) after every generation; when it exists
        at the start, the fit resumes after its last generation (it must come from a fit
        with the same observed targets, priors, ``n`` and ``seed``, else ``ValueError``).
        Every generation re-seeds the proposals and the model draws fresh patients from
        the simulation count, so a resumed fit equals an uninterrupted one.

    Returns
    -------
    AbcResult

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> def toy(p, first):
    ...     rng = np.random.default_rng(first)
    ...     return pd.DataFrame({"x": p["mu"] + rng.normal(size=len(p))})
    >>> r = abc_smc(toy, pd.Series({"x": 1.0}), pd.Series({"x": 1.0}),
    ...             {"mu": (-5.0, 5.0, "lin")}, n=200, generations=3)
    >>> abs(float(np.average(r.particles["mu"], weights=r.weights)) - 1.0) < 0.3
    True
    """
    import pyabc

    prior = _prior(priors)
    names = list(priors)
    say = log or (lambda _m: None)

    def distances(xs: pd.DataFrame, first: int) -> tuple[np.ndarray, pd.DataFrame]:
        sims = model(to_model(xs, priors).reset_index(drop=True), first)
        z = (sims[observed.index] - observed) / scale[observed.index]
        return np.sqrt((z**2).sum(axis=1)).to_numpy(), sims

    def in_support(xs: pd.DataFrame) -> np.ndarray:
        return np.array([prior.pdf(pyabc.Parameter(r)) > 0 for r in xs.to_dict("records")])

    key: dict[str, object] = {
        "observed": {k: float(v) for k, v in observed.items()},
        "priors": {k: list(v) for k, v in priors.items()}, "n": n, "seed": seed}
    done = _load_checkpoint(checkpoint, key) if checkpoint is not None else None
    if done is not None:
        t0 = int(done["generation"])  # type: ignore[arg-type]
        x = pd.DataFrame(done["x"])[names]
        d, w = np.asarray(done["d"], float), np.asarray(done["w"], float)
        used = int(done["used"])  # type: ignore[arg-type]
        hist = list(done["history"])  # type: ignore[arg-type]
        say(f"resumed from {checkpoint} after generation {t0}")
        if t0 > 0 and hist[-1]["acceptance"] < min_acceptance:
            return AbcResult(to_model(x, priors), w, d, hist, dict(priors))
    else:
        t0 = 0
        np.random.seed(seed)
        x = pd.DataFrame([dict(prior.rvs()) for _ in range(2 * n)])[names]
        d, _ = distances(x, 0)
        used = len(x)
        keep = np.argsort(d, kind="stable")[:n]
        x, d, w = x.iloc[keep].reset_index(drop=True), d[keep], np.full(n, 1.0 / n)
        hist = [{"generation": 0, "epsilon": float(d.max()), "acceptance": 0.5,
                 "simulated": used}]
        say(f"generation 0: epsilon {d.max():.3f}")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, key, 0, x, d, w, used, hist)
    for t in range(t0 + 1, generations + 1):
        np.random.seed(seed + 1000 * t)
        tr = pyabc.MultivariateNormalTransition()
        tr.fit(x, w)
        new = pd.DataFrame(columns=names, dtype=float)
        while len(new) < n:
            cand = tr.rvs(3 * n)[names].reset_index(drop=True)
            new = pd.concat([new, cand[in_support(cand)]], ignore_index=True)
        new = new.iloc[:n].reset_index(drop=True)
        d_new, _ = distances(new, used)
        used += n
        prior_pdf = np.array([prior.pdf(pyabc.Parameter(r))
                              for r in new.to_dict("records")])
        w_new = prior_pdf / np.asarray(tr.pdf(new), float)
        w_new = w_new / w_new.sum()
        # old particles keep their (normalised) weights, new ones get prior / proposal;
        # keep the n closest of both (adaptive quantile at 1/2)
        xa = pd.concat([x, new], ignore_index=True)
        da = np.concatenate([d, d_new])
        wa = np.concatenate([w, w_new])
        keep = np.argsort(da, kind="stable")[:n]
        acc = float((keep >= n).mean())
        x, d, w = xa.iloc[keep].reset_index(drop=True), da[keep], wa[keep] / wa[keep].sum()
        hist.append({"generation": t, "epsilon": float(d.max()), "acceptance": acc,
                     "simulated": used})
        say(f"generation {t}: epsilon {d.max():.3f}, acceptance {acc:.2f}")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, key, t, x, d, w, used, hist)
        if acc < min_acceptance:
            break
    return AbcResult(to_model(x, priors), w, d, hist, dict(priors))


def _targets_block(args: tuple[list[dict[str, float]], tuple[str, ...], int, int]
                   ) -> pd.DataFrame:
    thetas, studies, stream, first = args
    return particle_targets(thetas, studies, stream, first=first)


def trial_model(studies: Sequence[str], stream: int = FIT_STREAM, workers: int = 1
                ) -> Callable[[pd.DataFrame, int], pd.DataFrame]:
    """The simulator as an ABC model: one virtual trial of every study per particle.

    Parameters
    ----------
    studies : sequence of str
        Seed studies simulated for each particle.
    stream : int, default :data:`FIT_STREAM`
        Random stream of the virtual patients.
    workers : int, default 1
        Processes simulating the particles of one call (contiguous blocks of particles;
        particle ``k`` still uses virtual trial ``first + k``, so the result does not
        depend on ``workers``).

    Returns
    -------
    callable
        ``model(params, first) -> DataFrame``: one row per row of ``params`` (parameter
        values), one column per target of ``studies``
        (:func:`remission.sim.calibrate.particle_targets`); particle ``k`` uses virtual
        trial ``first + k`` of the stream, so later calls draw fresh patients.

    Examples
    --------
    >>> model = trial_model(("004",))
    >>> model(pd.DataFrame({"nk_expansion": [0.744, 2.0]}), 0).shape
    (2, 6)
    """

    def model(params: pd.DataFrame, first: int) -> pd.DataFrame:
        thetas = params.to_dict("records")
        if workers <= 1 or len(thetas) < 2:
            return particle_targets(thetas, studies, stream, first=first)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        cuts = np.linspace(0, len(thetas), min(workers, len(thetas)) + 1).astype(int)
        jobs = [(thetas[a:b], tuple(studies), stream, first + int(a))
                for a, b in itertools.pairwise(cuts)]
        with ProcessPoolExecutor(len(jobs),
                                 mp_context=multiprocessing.get_context("spawn")) as ex:
            parts = list(ex.map(_targets_block, jobs))
        return pd.concat(parts, ignore_index=True)

    return model


def observed_targets(studies: Sequence[str]) -> pd.Series:
    """Published values of the targets of ``studies``.

    Parameters
    ----------
    studies : sequence of str
        Seed studies (``"000"``, ``"002"``, ``"003"``, ``"004"``).

    Returns
    -------
    pandas.Series
        Target key -> published value (:data:`remission.sim.calibrate.TARGETS`).

    Examples
    --------
    Seed 004 reported response in 4 of 5 and CR/CRi in 3 of 5 patients at day 28:

    >>> observed_targets(["004"])[["004.orr_d28", "004.cr_d28"]].tolist()
    [0.8, 0.6]
    """
    return pd.Series({t.key: t.published for t in TARGETS if t.study in studies})


def fit(studies: Sequence[str] = ("000", "002", "003", "004"), n: int = 100,
        generations: int = 5, seed: int = 0,
        priors: Mapping[str, tuple[float, float, str]] = PRIORS,
        log: Callable[[str], None] | None = None, workers: int = 1,
        checkpoint: Path | None = None) -> AbcResult:
    """Fit the free parameters of :data:`PRIORS` to the published targets of ``studies``.

    Parameters
    ----------
    studies : sequence of str, default ("000", "002", "003", "004")
        Seed studies whose published targets are fitted.
    n : int, default 100
        Particles per generation.
    generations : int, default 5
        Most generations after the first.
    seed : int, default 0
        Seed of the proposals.
    priors : Mapping, default :data:`PRIORS`
        Name -> ``(low, high, "log" | "lin")``; other parameters stay at their shipped
        values.
    log : callable, optional
        Receives one progress line per generation.
    workers : int, default 1
        Processes simulating each generation (:func:`trial_model`; same result).
    checkpoint : Path, optional
        Progress file (:func:`abc_smc`): a killed fit resumes from it.

    Returns
    -------
    AbcResult
        Posterior particles, weights, distances and per-generation history.

    References
    ----------
    Beaumont MA, Cornuet JM, Marin JM, Robert CP. Biometrika 2009;96:983-990; Lenormand M,
    Jabot F, Deffuant G. Comput Stat 2013;28:2777-2796.

    Examples
    --------
    Generation 0 only: 4 particles from the prior, the 2 closest kept, equally weighted:

    >>> r = fit(("004",), n=2, generations=0, priors={"nk_expansion": (0.1, 3.0, "log")})
    >>> len(r.particles), r.weights.tolist()
    (2, [0.5, 0.5])
    >>> bool(r.particles["nk_expansion"].between(0.1, 3.0).all())
    True
    >>> r.history[0]["simulated"], bool(r.distances[0] <= r.distances[1])
    (4, True)
    """
    obs = observed_targets(studies)
    return abc_smc(trial_model(studies, workers=workers), obs,
                   target_scale(list(obs.index)), priors, n, generations, seed=seed,
                   log=log, checkpoint=checkpoint)


def posterior_predictive(result: AbcResult, studies: Sequence[str], draws: int = 100,
                         stream: int = PREDICT_STREAM, seed: int = 0) -> pd.DataFrame:
    """One virtual trial per posterior draw (resampled by weight) on fresh patients:
    the predictive distribution of every target, parameter uncertainty included.

    Parameters
    ----------
    result : AbcResult
        A fit.
    studies : sequence of str
        Seed studies whose targets are predicted.
    draws : int, default 100
        Posterior draws (one virtual trial each).
    stream : int, default :data:`PREDICT_STREAM`
        Random stream of the virtual patients (not the fit's).
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        One row per draw, one column per target of ``studies``.

    Examples
    --------
    >>> post = AbcResult(pd.DataFrame({"nk_expansion": [0.5, 1.0]}), np.array([0.0, 1.0]),
    ...                  np.zeros(2), priors={"nk_expansion": PRIORS["nk_expansion"]})

    All the weight is on the second particle, so every draw uses it:

    >>> pred = posterior_predictive(post, ("004",), draws=2)
    >>> pred.shape, list(pred.columns[:2])
    ((2, 6), ['004.orr_d28', '004.cr_d28'])
    """
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(result.particles), size=draws, p=result.weights)
    thetas = result.particles.iloc[idx].to_dict("records")
    return particle_targets(thetas, studies, stream)


def predictive_table(pred: pd.DataFrame) -> pd.DataFrame:
    """Published value, predictive median and 95 % interval, and whether it is inside.

    Parameters
    ----------
    pred : pandas.DataFrame
        Predictive draws (:func:`posterior_predictive`), one column per target.

    Returns
    -------
    pandas.DataFrame
        Indexed by target: ``published``, ``low``, ``median``, ``high`` (2.5, 50 and
        97.5 % quantiles, linear interpolation as R type 7) and ``inside``.

    Examples
    --------
    >>> pred = pd.DataFrame({"004.crs_ge2": [0.0, 0.2, 0.4, 0.6, 0.8]})
    >>> predictive_table(pred).round(3).to_dict("records")
    [{'published': 0.4, 'low': 0.02, 'median': 0.4, 'high': 0.78, 'inside': True}]
    """
    obs = observed_targets([t.study for t in TARGETS])
    q = pred.quantile([0.025, 0.5, 0.975]).T
    q.columns = ["low", "median", "high"]
    q.insert(0, "published", obs.reindex(q.index))
    q["inside"] = (q["published"] >= q["low"]) & (q["published"] <= q["high"])
    return q


def leave_one_seed_out(n: int = 60, generations: int = 4, draws: int = 100,
                       seed: int = 0, log: Callable[[str], None] | None = None,
                       studies: Sequence[str] = ("000", "002", "003", "004"),
                       priors: Mapping[str, tuple[float, float, str]] = PRIORS,
                       workers: int = 1, checkpoint_dir: Path | None = None
                       ) -> dict[str, pd.DataFrame]:
    """Fit on three seed studies, predict the fourth's targets, for each seed.

    Parameters the three studies do not inform (e.g. the CAR-NK block when seed 004 is
    left out) stay at their prior, so the prediction carries the prior's uncertainty.

    Parameters
    ----------
    n : int, default 60
        Particles per generation of each fit.
    generations : int, default 4
        Most generations after the first.
    draws : int, default 100
        Posterior draws for each prediction.
    seed : int, default 0
        Seed of the proposals.
    log : callable, optional
        Receives progress lines.
    studies : sequence of str, default ("000", "002", "003", "004")
        The seeds left out in turn; each fit uses the others of this list.
    priors : Mapping, default :data:`PRIORS`
        The fitted parameters (the others stay at their shipped values).
    workers : int, default 1
        Processes per generation (:func:`fit`).
    checkpoint_dir : Path, optional
        Folder of one progress file per left-out seed (``loso_<seed>.checkpoint.json``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Left-out seed -> :func:`predictive_table` of its targets.

    Examples
    --------
    Two seeds, one tiny fit each (2 particles from the prior, 1 kept, 2 predictive draws):

    >>> out = leave_one_seed_out(n=1, generations=0, draws=2, studies=("002", "004"))
    >>> sorted(out), list(out["004"].columns)
    (['002', '004'], ['published', 'low', 'median', 'high', 'inside'])
    >>> bool(out["004"].index.str.startswith("004.").all())
    True
    """
    out = {}
    for left in studies:
        rest = tuple(s for s in studies if s != left)
        ck = (checkpoint_dir / f"loso_{left}.checkpoint.json"
              if checkpoint_dir is not None else None)
        if log is not None:
            log(f"leave out {left}: fit on {' '.join(rest)}")
        r = fit(rest, n, generations, seed, priors=priors, log=log, workers=workers,
                checkpoint=ck)
        out[left] = predictive_table(posterior_predictive(r, (left,), draws))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m remission.sim.abc OUT [--n N] [--generations G] [--no-loso |
    --loso-only] [--studies S ...] [--parameters P ...] [--stem NAME]``: the full fit
    and its posterior predictive on fresh patients (``OUT/abc_fit.json``, ``.md``),
    and/or leave-one-seed-out (``OUT/abc_loso.*``). ``--studies`` and ``--parameters``
    fit a subset (the other parameters stay at their shipped values: a fit conditional
    on them), written as ``OUT/<stem>.*``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``): the output folder, ``--n``,
        ``--generations``, ``--loso-n``, ``--loso-generations``, ``--no-loso``,
        ``--loso-only``, ``--studies``, ``--parameters`` (names of :data:`PRIORS`),
        ``--stem``, ``--workers``, ``--checkpoint``.

    Returns
    -------
    int
        0 once ``OUT/<stem>.json`` and ``.md`` are written (atomically); the Markdown is
        also printed, progress goes to stderr.

    Raises
    ------
    SystemExit
        On a command-line error (argparse, status 2), e.g. a parameter without a prior.

    Examples
    --------
    >>> main(["out", "--parameters", "ven_cl"])  # no prior for ven_cl: refused before any fit
    Traceback (most recent call last):
    SystemExit: 2
    """
    import argparse
    import sys

    from ..io.atomic import write_text
    from ..report.markdown import abc_markdown

    ap = argparse.ArgumentParser(prog="python -m remission.sim.abc")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--loso-n", type=int, default=60)
    ap.add_argument("--loso-generations", type=int, default=3)
    ap.add_argument("--no-loso", action="store_true")
    ap.add_argument("--loso-only", action="store_true")
    ap.add_argument("--studies", nargs="+", default=["000", "002", "003", "004"])
    ap.add_argument("--parameters", nargs="+", choices=sorted(PRIORS))
    ap.add_argument("--stem", help="output file name (default abc_fit / abc_loso)")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes simulating each generation (same result)")
    ap.add_argument("--checkpoint", action="store_true",
                    help="write OUT/<stem>.checkpoint.json after every generation and "
                         "resume from it (leave-one-seed-out: one file per left-out seed)")
    a = ap.parse_args(argv)
    studies = tuple(a.studies)
    priors = {k: PRIORS[k] for k in a.parameters} if a.parameters else PRIORS

    def say(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {
        "command": "python -m remission.sim.abc " + " ".join(argv or sys.argv[1:]),
        "fit_stream": FIT_STREAM, "predict_stream": PREDICT_STREAM}
    r: AbcResult | None = None
    post = pred = None
    loso: dict[str, pd.DataFrame] | None = None
    stem = a.stem or ("abc_loso" if a.loso_only else "abc_fit")
    if not a.loso_only:
        r = fit(studies, n=a.n, generations=a.generations, priors=priors, log=say,
                workers=a.workers,
                checkpoint=out / f"{stem}.checkpoint.json" if a.checkpoint else None)
        post = r.summary()
        pred = predictive_table(posterior_predictive(r, studies))
        doc.update({
            "history": r.history, "posterior": post.to_dict(orient="index"),
            "particles": r.particles.assign(weight=r.weights, distance=r.distances)
            .to_dict(orient="records"),
            "posterior_predictive": pred.to_dict(orient="index")})
    if not a.no_loso:
        loso = leave_one_seed_out(a.loso_n, a.loso_generations, log=say, studies=studies,
                                  priors=priors, workers=a.workers,
                                  checkpoint_dir=out if a.checkpoint else None)
        doc["leave_one_seed_out"] = {k: v.to_dict(orient="index") for k, v in loso.items()}
    text = abc_markdown(str(doc["command"]), history=r.history if r else None,
                        posterior=post, predictive=pred, predict_stream=PREDICT_STREAM,
                        leave_one_seed_out=loso)
    write_text(out / f"{stem}.json", json.dumps(doc, indent=1, default=float) + "\n")
    write_text(out / f"{stem}.md", text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
