"""Composite indicators, coordination and disparity measures for city clusters.

Typical use::

    from urbanpulse.indices import read_framework, read_table, build_index_data, run_pipeline
    fw = read_framework("framework.toml")
    result = run_pipeline(fw, build_index_data(read_table("data.csv"), fw))
    result.scores, result.ranks, result.tables["normalised"], result.get_log_table()
"""

from __future__ import annotations

from urbanpulse.indices.baseyear import compute_base_year_index
from urbanpulse.indices.coupling import compute_coupling_coordination, compute_pairwise_coupling
from urbanpulse.indices.disparity import compute_cv, compute_gini, compute_ratio, compute_theil
from urbanpulse.indices.framework import Framework, build_framework, read_framework
from urbanpulse.indices.io import run_indices, write_results
from urbanpulse.indices.monitor import MonitorResult, compute_monitor, read_default_framework
from urbanpulse.indices.pipeline import Pipeline, PipelineResult, StepRecord, run_pipeline
from urbanpulse.indices.sensitivity import compute_index_sensitivity, compute_sobol_indices
from urbanpulse.indices.tables import IndexData, build_index_data, compute_ranks, read_table
from urbanpulse.indices.uncertainty import build_scenario_model, compute_monte_carlo

__all__ = [
    "Framework",
    "IndexData",
    "MonitorResult",
    "Pipeline",
    "PipelineResult",
    "StepRecord",
    "build_framework",
    "build_index_data",
    "build_scenario_model",
    "compute_base_year_index",
    "compute_coupling_coordination",
    "compute_cv",
    "compute_gini",
    "compute_index_sensitivity",
    "compute_monitor",
    "compute_monte_carlo",
    "compute_pairwise_coupling",
    "compute_ranks",
    "compute_ratio",
    "compute_sobol_indices",
    "compute_theil",
    "read_default_framework",
    "read_framework",
    "read_table",
    "run_indices",
    "run_pipeline",
    "write_results",
]
