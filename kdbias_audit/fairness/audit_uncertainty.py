"""Run-set glue of the disparity uncertainty: per-seed CIs and noise floors of a fairness audit,
and their JSON fields and table cells (the statistics: :mod:`.uncertainty`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .uncertainty import DPDNull, check_dpd_null, check_options, disparity_uncertainty

__all__ = ["with_uncertainty", "uncertainty_fields", "uncertainty_display"]


def with_uncertainty(
    runset: Any,
    results: tuple,
    *,
    confidence_level: float | None,
    n_resamples: int,
    random_state: Any,
    dpd_null: DPDNull = "pooled",
) -> tuple:
    """``AttributeFairness`` results with ``uncertainty`` set: one
    :class:`DisparityUncertainty` per seed (draws from one generator, in attribute then seed
    order)."""
    import dataclasses

    from .attributes import attribute_codes

    check_options(0.5 if confidence_level is None else confidence_level, n_resamples, "binary", 1)
    dpd_null = check_dpd_null(dpd_null)
    rng = np.random.default_rng(random_state)
    labels = np.asarray(runset.label)
    preds = np.asarray(runset.preds)
    out = []
    for r in results:
        codes, groups = attribute_codes(runset, r.components)
        per_seed = tuple(
            disparity_uncertainty(
                labels,
                preds[s],
                codes,
                len(groups),
                mode=r.mode,
                positive=r.positive_class if r.positive_class is not None else 1,
                num_classes=int(runset.num_classes),
                n_resamples=n_resamples,
                confidence_level=0.95 if confidence_level is None else confidence_level,
                interval=confidence_level is not None,
                dpd_null=dpd_null,
                random_state=rng,
            )
            for s in range(preds.shape[0])
        )
        out.append(dataclasses.replace(r, uncertainty=per_seed))
    return tuple(out)


def uncertainty_fields(per_seed: Any, metric: str) -> dict[str, Any]:
    """The JSON fields added to a ``"dpd"``/``"eod"`` object (empty without uncertainty)."""
    if not per_seed:
        return {}
    m = [getattr(u, metric) for u in per_seed]
    ci = {
        "per_seed_ci_low": [float(x.ci_low) for x in m],
        "per_seed_ci_high": [float(x.ci_high) for x in m],
    }
    null: dict[str, Any] = (
        {"noise_floor_null": str(per_seed[0].dpd_null)} if metric == "dpd" else {}
    )
    return {
        **(ci if m[0].confidence_level is not None else {}),
        **null,
        "per_seed_noise_floor": [float(x.noise_floor) for x in m],
        "per_seed_noise_pvalue": [
            float(x.noise_pvalue) if math.isfinite(x.noise_pvalue) else None for x in m
        ],
    }


def _pct_range(lo: float, hi: float) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "nan"
    return f"{100 * lo:.2f} – {100 * hi:.2f}"


def uncertainty_display(per_seed: Any, metric: str) -> dict[str, str]:
    """Table cells: CI (one seed) or the range of per-seed CI bounds, mean noise floor, and
    the noise p-value (one seed) or its range over seeds."""
    if not per_seed:
        return {}
    m = [getattr(u, metric) for u in per_seed]
    name = metric.upper()
    level = None if m[0].confidence_level is None else f"{100 * m[0].confidence_level:g}%"
    floors = [x.noise_floor for x in m if math.isfinite(x.noise_floor)]
    pvals = [x.noise_pvalue for x in m if math.isfinite(x.noise_pvalue)]
    if len(m) == 1:
        ci = _pct_range(m[0].ci_low, m[0].ci_high)
        p = f"{pvals[0]:.3g}" if pvals else "nan"
    else:
        ci = _pct_range(min(x.ci_low for x in m), max(x.ci_high for x in m)) + " (seeds)"
        p = f"{min(pvals):.3g} – {max(pvals):.3g}" if pvals else "nan"
    floor = f"{100 * float(np.mean(floors)):.2f}" if floors else "nan"
    cells = {f"{name} {level} CI (%)": ci} if level is not None else {}
    return {**cells, f"{name} noise floor (%)": floor, f"{name} p(noise)": p}
