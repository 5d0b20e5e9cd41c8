"""``urbanpulse indices ...``: build composite indices and test how robust they are."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from urbanpulse.cli.common import LAKE_OPTION, build_group, console, get_context, print_error
from urbanpulse.errors import UrbanPulseError
from urbanpulse.indices.framework import read_framework
from urbanpulse.indices.io import run_indices, write_results
from urbanpulse.indices.loading import ingest_indicator_table
from urbanpulse.indices.pipeline import run_pipeline
from urbanpulse.indices.provinces import write_china_indicators
from urbanpulse.indices.sensitivity import compute_index_sensitivity
from urbanpulse.indices.tables import build_index_data, read_table
from urbanpulse.indices.uncertainty import build_scenario_model, compute_monte_carlo

indices_app = build_group(
    help="Composite indices: run a framework's pipeline, check its robustness.",
    no_args_is_help=True,
)
_console = console


def _fail(exc: UrbanPulseError) -> None:
    print_error(exc)
    raise typer.Exit(code=2)


@indices_app.command("run")
def run_command(
    framework: Path = typer.Argument(
        ..., help="Framework file (.toml, .yaml, or COINr iMeta .csv)."
    ),
    data: Path = typer.Argument(..., help="Data table (.csv, .parquet, .xlsx), wide or long."),
    out: Path = typer.Option(Path("index-results"), "--out", help="Folder for every output table."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
) -> None:
    """Run the framework's pipeline on DATA; write scores, ranks, weights, log and every
    intermediate table to --out."""
    try:
        result = run_indices(framework, data, out, fmt=fmt)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    table = Table(title=f"{result.framework.name}: top units")
    for col in ("unit", "score", "rank"):
        table.add_column(col)
    root = result.framework.root
    top = result.scores[root].sort_values(ascending=False).head(10)
    for unit, score in top.items():
        table.add_row(str(unit), f"{score:.2f}", f"{result.ranks.loc[unit, root]:.0f}")
    _console.print(table)
    for rec in result.log:
        _console.print(f"  {rec.step:<10} {rec.effect}")
    _console.print(f"wrote results to {out}")


@indices_app.command("sensitivity")
def sensitivity_command(
    framework: Path = typer.Argument(..., help="Framework file."),
    data: Path = typer.Argument(..., help="Data table, wide or long."),
    out: Path = typer.Option(Path("index-results"), "--out", help="Output folder."),
    draws: int = typer.Option(1000, "--draws", help="Monte Carlo draws."),
    sobol_n: int = typer.Option(256, "--sobol-n", help="Sobol base sample size (power of 2)."),
    noise: float = typer.Option(0.25, "--weight-noise", help="Weights vary by +/- this share."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Rank intervals (Monte Carlo over weights, imputation, normalisation, aggregation)
    and Sobol first/total-order indices of the mean rank shift."""
    try:
        fw = read_framework(framework)
        idata = build_index_data(read_table(data), fw)
        result = run_pipeline(fw, idata)
        model = build_scenario_model(fw, idata)
        with _console.status("Monte Carlo draws..."):
            mc = compute_monte_carlo(model, n_draws=draws, weight_noise=noise, seed=seed)
        with _console.status("Sobol analysis..."):
            sobol = compute_index_sensitivity(model, n=sobol_n, weight_noise=noise, seed=seed)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    write_results(result, out, uncertainty=mc)
    sobol.to_csv(out / "sobol.csv", index=False)
    _console.print(mc.summary.sort_values("nominal_rank").head(15).to_string())
    _console.print(sobol.round(3).to_string(index=False))
    _console.print(f"wrote rank_intervals.csv and sobol.csv to {out}")


@indices_app.command("describe")
def describe_command(
    framework: Path = typer.Argument(..., help="Framework file."),
) -> None:
    """List a framework's indicators and aggregates."""
    try:
        fw = read_framework(framework)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    cols = ["code", "name", "level", "parent", "direction", "unit", "denominator", "weight"]
    _console.print(fw.nodes[cols].to_string(index=False))


@indices_app.command("load")
def load_command(
    table: Path = typer.Argument(..., help="Statistics table (.csv, .xlsx, .parquet)."),
    mapping: Path = typer.Option(
        ..., "--mapping", help="Indicator mapping (.toml), e.g. mappings/indicators-example.toml."
    ),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """Load yearly indicators by city into the lake for the monitor page; bad cells go
    to quarantine (see `urbanpulse quarantine`). Measured values override the demo's."""
    try:
        summary = ingest_indicator_table(get_context(lake).lake, table, mapping)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    _console.print(
        f"read {summary.rows_read} rows: stored {summary.values_stored} values, "
        f"{summary.missing_cells} empty cells, {summary.quarantined_total} quarantined"
    )
    for reason, count in sorted(summary.quarantined.items()):
        _console.print(f"  quarantined {count:>5}  {reason}")
    if summary.already_loaded:
        _console.print("this table was loaded before: values replaced, nothing quarantined twice")
    _console.print(f"the lake now holds {summary.indicators_in_lake} indicator values")


@indices_app.command("load-china")
def load_china_command(
    data_dir: Path = typer.Argument(
        ...,
        help="Shared data folder holding china-province-tech/ and china-census-city/, "
        "e.g. ../shared/data.",
    ),
    lake: Path | None = LAKE_OPTION,
    vintage: str | None = typer.Option(
        None, "--vintage", help="Release label \\[default: techme-<latest data year + 1>]."
    ),
) -> None:
    """Load real provincial statistics (NBS yearbooks via techme, 2010/2020 census) for
    all 31 provinces into the lake: R&D intensity, patents per 10,000 residents,
    technology-contract flows, education and S&T spending per resident. The monitor
    shows them for Beijing, Tianjin and Hebei, apart from the 13-city indices."""
    try:
        summary = write_china_indicators(get_context(lake).lake, data_dir, vintage=vintage)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    first, last = summary.years
    _console.print(
        f"stored {summary.values_stored} values ({summary.values_skipped} empty skipped): "
        f"{len(summary.indicators)} indicators, {summary.provinces} provinces, "
        f"{first}-{last}, vintage {summary.vintage}"
    )
    _console.print("indicators: " + ", ".join(summary.indicators))
    _console.print("Beijing : Tianjin : Hebei, latest year:")
    for r in summary.ratios.itertuples():
        _console.print(f"  {r.indicator:<32} {r.year}  {r.ratio_text}")
    _console.print(f"the data cannot yet supply {len(summary.unsupplied)} framework indicators:")
    for gap in summary.unsupplied.itertuples():
        _console.print(f"  {gap.code:<30} {gap.reason}")
    _console.print("see them under 'Real provincial statistics (NBS)' on /monitor")
