"""Writing index results, and the one-call entry point the CLI uses."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.framework import read_framework
from urbanpulse.indices.pipeline import PipelineResult, run_pipeline
from urbanpulse.indices.tables import build_index_data, read_table
from urbanpulse.indices.uncertainty import UncertaintyResult

FORMATS = ("csv", "parquet")


def _write(table: pd.DataFrame, path: Path, fmt: str) -> Path:
    flat = table.reset_index() if _has_named_index(table) else table
    target = path.with_suffix(f".{fmt}")
    if fmt == "csv":
        flat.to_csv(target, index=False)
    else:
        flat.to_parquet(target, index=False)
    return target


def _has_named_index(table: pd.DataFrame) -> bool:
    return any(name is not None for name in table.index.names)


def write_results(
    result: PipelineResult,
    out_dir: str | Path,
    *,
    fmt: str = "csv",
    uncertainty: UncertaintyResult | None = None,
) -> list[Path]:
    """Write scores, ranks, weights, the step log and every intermediate table.

    Files: ``scores``, ``ranks``, ``weights``, ``log`` (also ``log.json``), one file
    per pipeline table (``table_raw``, ``table_normalised``...), one per detail table
    (``details_treat_details``...), and ``rank_intervals`` when given Monte Carlo output.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    if fmt not in FORMATS:
        raise ConfigurationError(f"format must be one of {FORMATS}, not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "aggregated" in result.tables:
        written.append(_write(result.scores, out / "scores", fmt))
        written.append(_write(result.ranks, out / "ranks", fmt))
    written.append(_write(result.get_weights_table(), out / "weights", fmt))
    written.append(_write(result.get_log_table(), out / "log", fmt))
    for name, table in result.tables.items():
        written.append(_write(table, out / f"table_{name}", fmt))
    for name, table in result.details.items():
        written.append(_write(table, out / f"details_{name}", fmt))
    if uncertainty is not None:
        written.append(_write(uncertainty.summary, out / "rank_intervals", fmt))
    log = [
        {"step": r.step, "params": r.params, "effect": r.effect, "seconds": r.seconds}
        for r in result.log
    ]
    (out / "log.json").write_text(json.dumps(log, indent=2, default=str), encoding="utf-8")
    written.append(out / "log.json")
    return written


def run_indices(
    framework_path: str | Path, data_path: str | Path, out_dir: str | Path, *, fmt: str = "csv"
) -> PipelineResult:
    """Read a framework and a data table, run the framework's pipeline, write everything.

    This is what ``urbanpulse indices run FRAMEWORK DATA --out DIR`` does.
    """
    framework = read_framework(framework_path)
    data = build_index_data(read_table(data_path), framework)
    result = run_pipeline(framework, data)
    write_results(result, out_dir, fmt=fmt)
    return result
