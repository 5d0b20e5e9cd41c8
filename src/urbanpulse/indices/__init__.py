"""Composite indicators, coordination and disparity measures for city clusters."""

from __future__ import annotations

from urbanpulse.indices.framework import Framework, build_framework, read_framework
from urbanpulse.indices.pipeline import Pipeline, PipelineResult, StepRecord, run_pipeline
from urbanpulse.indices.tables import IndexData, build_index_data, compute_ranks, read_table

__all__ = [
    "Framework",
    "IndexData",
    "Pipeline",
    "PipelineResult",
    "StepRecord",
    "build_framework",
    "build_index_data",
    "compute_ranks",
    "read_framework",
    "read_table",
    "run_pipeline",
]
