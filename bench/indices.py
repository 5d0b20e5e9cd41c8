"""Benchmark of the index engine: 13 units x 40 indicators x 11 years.

Times the full pipeline step by step, a 10,000-draw Monte Carlo and a Sobol
analysis, next to a baseline in the same process: the naive Monte Carlo that
re-runs the whole pipeline for every draw (timed on a sample, then scaled).
Run by hand: ``.venv/bin/python bench/indices.py``. The last line is JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.indices import build_framework, build_index_data, run_pipeline
from urbanpulse.indices.sensitivity import compute_index_sensitivity
from urbanpulse.indices.uncertainty import build_scenario_model, compute_monte_carlo

UNITS, INDICATORS, YEARS = 13, 40, 11
DRAWS, SOBOL_N, BASELINE_SAMPLE = 10_000, 512, 50
TARGET_SECONDS = {"pipeline": 2.0, "monte_carlo": 30.0, "sobol": 30.0}
CONCEPTS = ("innovation", "coordination", "green", "openness", "sharing")


def build_bench_framework() -> Any:
    per = INDICATORS // len(CONCEPTS)
    spec = {
        "name": "bench",
        "denominators": ["population"],
        "indicator": [
            {
                "code": f"{c[:3]}_{k}",
                "parent": c,
                "direction": -1 if k % 4 == 3 else 1,
                "denominator": "population" if k % 5 == 0 else None,
                "scale": 1e4,
            }
            for c in CONCEPTS
            for k in range(per)
        ],
        "aggregate": [{"code": c, "parent": "index"} for c in CONCEPTS] + [{"code": "index"}],
        "step": [
            {"step": "denominate"},
            {"step": "impute", "method": "linear", "max_gap": 2},
            {"step": "impute", "method": "group_mean", "group": "year"},
            {"step": "treat", "winmax": 5},
            {"step": "normalise", "method": "minmax"},
            {"step": "weight", "method": "entropy"},
            {"step": "aggregate", "method": "arithmetic"},
        ],
    }
    return build_framework(spec)


def build_bench_data(fw: Any, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(UNITS):
        size = rng.lognormal(0, 0.6)
        for t in range(YEARS):
            row = {"region_code": f"{130100 + 100 * u}", "year": 2013 + t}
            row["population"] = 5e6 * size * (1 + 0.01 * t)
            for code in fw.indicators:
                row[code] = rng.lognormal(0, 0.8) * size * (1 + 0.03 * t) * 100
            rows.append(row)
    table = pd.DataFrame(rows)
    mask = rng.random((len(table), INDICATORS)) < 0.05  # 5 % missing cells
    table[fw.indicators] = table[fw.indicators].mask(mask)
    return table


def main() -> None:
    fw = build_bench_framework()
    table = build_bench_data(fw)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    data = build_index_data(table, fw)
    times["read and reshape"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_pipeline(fw, data)
    times["pipeline total"] = time.perf_counter() - t0
    for rec in result.log:
        times[f"  step {rec.step}"] = times.get(f"  step {rec.step}", 0.0) + rec.seconds
    t0 = time.perf_counter()
    model = build_scenario_model(fw, data)
    times["scenario tables (MC + Sobol)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mc = compute_monte_carlo(model, n_draws=DRAWS, seed=1)
    times[f"monte carlo {DRAWS} draws"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sobol = compute_index_sensitivity(model, n=SOBOL_N, seed=1)
    times[f"sobol N={SOBOL_N} ({SOBOL_N * (len(sobol) + 2)} runs)"] = time.perf_counter() - t0
    baseline = _time_naive_monte_carlo(fw, data)
    times[f"baseline: naive MC, {DRAWS} draws (scaled)"] = baseline

    print(f"index engine benchmark: {UNITS} units x {INDICATORS} indicators x {YEARS} years")
    print(f"{'step':<48}{'seconds':>10}")
    for name, sec in times.items():
        print(f"{name:<48}{sec:>10.3f}")
    widest = mc.summary.assign(width=mc.summary.rank_p95 - mc.summary.rank_p05)
    print(f"mean 90% rank-interval width: {widest['width'].mean():.2f} places")
    print(sobol.round(3).to_string(index=False))
    mc_key = f"monte carlo {DRAWS} draws"
    sobol_key = next(k for k in times if k.startswith("sobol"))
    figures = {
        "bench": "indices",
        "units": UNITS,
        "indicators": INDICATORS,
        "years": YEARS,
        "pipeline_s": round(times["pipeline total"], 4),
        "monte_carlo_draws": DRAWS,
        "monte_carlo_s": round(times[mc_key] + times["scenario tables (MC + Sobol)"], 3),
        "naive_monte_carlo_s": round(baseline, 2),
        "speedup_vs_naive": round(baseline / times[mc_key], 1),
        "sobol_runs": SOBOL_N * (len(sobol) + 2),
        "sobol_s": round(times[sobol_key], 3),
        "target_s": TARGET_SECONDS,
    }
    print(json.dumps(figures))


def _time_naive_monte_carlo(fw: Any, data: Any) -> float:
    """Re-run the full pipeline for each draw with perturbed weights; scale to DRAWS."""
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    for _ in range(BASELINE_SAMPLE):
        steps = [dict(s) for s in fw.steps]
        w = {c: float(rng.uniform(0.75, 1.25)) for c in fw.indicators}
        steps[-2] = {"step": "weight", "method": "manual", "manual": w}
        steps[-1] = {"step": "aggregate", "method": str(rng.choice(["arithmetic", "geometric"]))}
        steps[-3] = {"step": "normalise", "method": "minmax", "lower": 1.0, "upper": 100.0}
        run_pipeline(fw, data, steps).ranks  # noqa: B018 - ranks are part of each draw's cost
    return (time.perf_counter() - t0) / BASELINE_SAMPLE * DRAWS


if __name__ == "__main__":
    main()
