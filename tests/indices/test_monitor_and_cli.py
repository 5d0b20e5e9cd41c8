"""The monitor tables, the default framework, results on disk and the CLI sub-app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from urbanpulse.cli.indices import indices_app
from urbanpulse.errors import ConfigurationError
from urbanpulse.indices import build_index_data, read_framework, run_pipeline
from urbanpulse.indices.io import run_indices, write_results
from urbanpulse.indices.monitor import (
    build_demo_indicators,
    compute_monitor,
    get_default_framework_path,
    read_default_framework,
)


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return build_demo_indicators(read_default_framework(), years=range(2014, 2019), seed=4)


def test_default_framework_has_five_concepts_and_documented_indicators() -> None:
    fw = read_default_framework()
    assert fw.get_children(fw.root) == [
        "innovation",
        "coordination",
        "green",
        "openness",
        "sharing",
    ]
    ind = fw.nodes[fw.nodes["kind"] == "indicator"]
    assert ind["unit"].notna().all() and ind["name"].notna().all()
    assert set(ind["concept"]) == set(fw.get_children(fw.root))
    assert set(ind["denominator"].dropna()) <= set(fw.denominators)


def test_monitor_tables_have_the_documented_columns(demo: pd.DataFrame) -> None:
    m = compute_monitor(demo, n_draws=50)
    assert list(m.base_year_index.columns) == ["region_code", "year", "code", "value"]
    assert list(m.scores.columns) == ["region_code", "year", "code", "value"]
    assert list(m.ranks.columns) == [
        "region_code",
        "year",
        "rank",
        "median_rank",
        "rank_p05",
        "rank_p95",
    ]
    assert list(m.coupling.columns) == [
        "region_code",
        "year",
        "coupling",
        "development",
        "coordination",
        "band",
    ]
    assert list(m.area_ratios.columns) == ["indicator", "year", "bj", "tj", "he", "ratio_text"]
    assert m.disparity.columns[0] == "measure"
    base = m.base_year_index[m.base_year_index.year == 2014]
    assert np.allclose(base["value"], 100.0)
    assert len(m.pairwise_coupling) == 13 * 12 // 2
    assert m.coupling["coordination"].between(0, 1).all()


def test_area_ratio_uses_area_totals(demo: pd.DataFrame) -> None:
    m = compute_monitor(demo, n_draws=20)
    row = m.area_ratios[
        (m.area_ratios.indicator == "sha_education_spending") & (m.area_ratios.year == 2016)
    ].iloc[0]
    d = demo[demo.year == 2016].pivot(index="region_code", columns="indicator", values="value")
    hebei = d[d.index.str.startswith("13")]
    want = hebei["sha_education_spending"].sum() * 1e4 / hebei["population"].sum()
    assert row["he"] == pytest.approx(want)
    assert row["ratio_text"].endswith(": 1")


def test_write_results_writes_every_table(tmp_path: Path, demo: pd.DataFrame) -> None:
    fw = read_default_framework()
    result = run_pipeline(fw, build_index_data(demo, fw))
    written = write_results(result, tmp_path, fmt="parquet")
    names = {p.name for p in written}
    assert {"scores.parquet", "ranks.parquet", "weights.parquet", "log.json"} <= names
    assert {"table_raw.parquet", "table_imputed.parquet", "table_imputed_2.parquet"} <= names
    assert "details_treat_details.parquet" in names
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert list(scores.columns[:2]) == ["region_code", "year"]


def test_cli_run_writes_results(tmp_path: Path, demo: pd.DataFrame) -> None:
    data = tmp_path / "demo.csv"
    demo.to_csv(data, index=False)

    framework = get_default_framework_path()
    out = tmp_path / "out"
    res = CliRunner().invoke(indices_app, ["run", str(framework), str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    ranks = pd.read_csv(out / "ranks.csv", dtype={"region_code": str})
    assert set(ranks["region_code"]) >= {"110000", "131100"}
    direct = run_indices(framework, data, tmp_path / "again")
    assert direct.scores["index"].notna().all()


def test_cli_reports_bad_framework_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[indicator]]\ncode = "a"\nparent = "nowhere"\n')
    data = tmp_path / "d.csv"
    data.write_text("region_code,a\n1,2\n")
    res = CliRunner().invoke(indices_app, ["run", str(bad), str(data), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "nowhere" in res.output
    with pytest.raises(ConfigurationError):
        read_framework(bad)


def test_framework_yaml_equivalent_to_toml(tmp_path: Path) -> None:
    y = tmp_path / "f.yaml"
    y.write_text(
        "name: t\nindicator:\n  - {code: a, parent: p, direction: -1}\n  - {code: b, parent: p}\n"
        "aggregate:\n  - {code: p}\nstep:\n  - {step: normalise, method: rank}\n"
    )
    fw = read_framework(y)
    assert fw.root == "p" and fw.indicators == ["a", "b"]
    assert fw.steps == ({"step": "normalise", "method": "rank"},)
