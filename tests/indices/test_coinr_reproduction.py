"""The engine reproduces COINr's published ASEM example results (expected_values.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from urbanpulse.indices import PipelineResult, build_index_data, run_pipeline
from urbanpulse.indices.analysis import (
    compute_cronbach_alpha,
    compute_drop_one_impact,
)
from urbanpulse.indices.framework import Framework, build_framework_from_imeta
from urbanpulse.indices.impute import compute_imputed
from urbanpulse.indices.treat import compute_kurtosis, compute_skew, compute_treated
from urbanpulse.indices.weights import compute_effective_weights, compute_pca

pytestmark = pytest.mark.shared_data

# The pipeline of COINr's build_example_coin(), as expected_values.json spells it out.
ASEM_STEPS: list[dict[str, Any]] = [
    {"step": "denominate"},
    {"step": "impute", "method": "group_mean", "group": "EurAsia_group"},
    {"step": "screen", "min_coverage": 0.9, "by": "unit"},
    {"step": "treat", "winmax": 5, "skew_thresh": 2.0, "kurt_thresh": 3.5},
    {"step": "normalise", "method": "minmax", "lower": 0.0, "upper": 100.0},
    {"step": "weight", "method": "framework"},
    {"step": "aggregate", "method": "arithmetic"},
]


@pytest.fixture(scope="module")
def expected(asem_dir: Path) -> dict[str, Any]:
    return json.loads((asem_dir / "expected_values.json").read_text())


@pytest.fixture(scope="module")
def framework(asem_dir: Path) -> Framework:
    return build_framework_from_imeta(pd.read_csv(asem_dir / "ASEM_iMeta.csv"), name="ASEM")


@pytest.fixture(scope="module")
def idata(asem_dir: Path) -> pd.DataFrame:
    return pd.read_csv(asem_dir / "ASEM_iData.csv")


@pytest.fixture(scope="module")
def result(framework: Framework, idata: pd.DataFrame) -> PipelineResult:
    return run_pipeline(framework, build_index_data(idata, framework), ASEM_STEPS)


def test_top_six_index_scores(result: PipelineResult, expected: dict[str, Any]) -> None:
    top = result.scores["Index"].sort_values(ascending=False).head(6).round(2)
    assert top.to_dict() == pytest.approx(expected["results_top6_Index"], abs=0.005)
    assert list(top.index) == list(expected["results_top6_Index"])


def test_switzerland_every_aggregate(result: PipelineResult, expected: dict[str, Any]) -> None:
    che = result.scores.loc["CHE"].round(2).to_dict()
    for code, value in expected["results_CHE_all"].items():
        assert che[code] == pytest.approx(value, abs=0.005), code


def test_india_scores_and_ranks(result: PipelineResult, expected: dict[str, Any]) -> None:
    scores, ranks = result.scores.loc["IND"], result.ranks.loc["IND"]
    for code, (score, rank) in expected["unit_summary_IND"].items():
        assert round(scores[code], 2) == pytest.approx(score, abs=0.005), code
        assert ranks[code] == rank, code


def test_drop_one_pillar_mean_rank_shift(
    result: PipelineResult, framework: Framework, expected: dict[str, Any]
) -> None:
    impact = compute_drop_one_impact(
        result.tables["normalised"], framework, result.weights, level=2
    ).set_index("removed")["mean_abs_rank_change"]
    for code, value in expected["remove_elements_level2_MeanAbsDiff"].items():
        assert impact[code] == pytest.approx(value, abs=1e-6), code


def test_index_pillar_correlations(result: PipelineResult, expected: dict[str, Any]) -> None:
    agg = result.aggregated
    assert agg["Index"].corr(agg["Conn"]) == pytest.approx(expected["corr_Index_Conn"], abs=1e-7)
    assert agg["Index"].corr(agg["Sust"]) == pytest.approx(expected["corr_Index_Sust"], abs=1e-7)


def test_cronbach_alpha_of_raw_p2p(
    result: PipelineResult, framework: Framework, expected: dict[str, Any]
) -> None:
    raw = result.tables["raw"][framework.get_children("P2P")]
    alpha = compute_cronbach_alpha(raw)
    assert alpha == pytest.approx(expected["cronbach_P2P_raw_pairwise"], abs=1e-7)


def test_pca_of_raw_social_indicators(
    result: PipelineResult, framework: Framework, expected: dict[str, Any]
) -> None:
    raw = result.tables["raw"][framework.get_children("Social")]
    assert len(raw.dropna()) == 37
    sdev, _ = compute_pca(raw)
    want = expected["pca_raw_Social_complete_cases_37rows_sdev"]
    assert sdev.to_numpy() == pytest.approx(want, abs=6e-5)


def test_pca_weights_of_pillars_within_each_sub_index(
    result: PipelineResult, framework: Framework, expected: dict[str, Any]
) -> None:
    want = expected["pca_weights_level2_by_group_on_Aggregated (sign arbitrary)"]
    for parent in ("Conn", "Sust"):
        kids = framework.get_children(parent)
        _, loadings = compute_pca(result.aggregated[kids])
        pc1 = loadings["pc1"]
        sign = np.sign(pc1[kids[0]]) * np.sign(want[kids[0]])
        for code in kids:
            assert sign * pc1[code] == pytest.approx(want[code], abs=1e-6), code


def test_skew_and_kurtosis_of_flights(
    framework: Framework, idata: pd.DataFrame, expected: dict[str, Any]
) -> None:
    flights = idata["Flights"].to_numpy(dtype=float)
    sk, kt = expected["skew_kurt_raw_Flights"]
    assert compute_skew(flights) == pytest.approx(sk, abs=1e-6)
    assert compute_kurtosis(flights) == pytest.approx(kt, abs=1e-6)
    _, details, points = compute_treated(idata[["Flights"]], winmax=5)
    sk1, kt1 = expected["skew_kurt_Flights_after_1_winsorised_point"]
    assert details.loc[0, "n_winsorised_high"] == 1
    assert len(points) == 1
    assert details.loc[0, "skew_after"] == pytest.approx(sk1, abs=1e-6)
    assert details.loc[0, "kurt_after"] == pytest.approx(kt1, abs=1e-6)


def test_treat_vignette_vector(expected: dict[str, Any]) -> None:
    x = np.array([*range(1, 11), 30, 100], dtype=float)
    assert [compute_skew(x), compute_kurtosis(x)] == pytest.approx(
        expected["skew_kurt_x_1to10_30_100"], abs=1e-6
    )
    _, details, _ = compute_treated(pd.DataFrame({"x": x}), winmax=2)
    after = [details.loc[0, "skew_after"], details.loc[0, "kurt_after"]]
    assert after == pytest.approx(expected["after_Treat_winmax2"], abs=1e-6)


def test_effective_weights(result: PipelineResult, framework: Framework, expected: dict) -> None:
    eff = compute_effective_weights(framework, result.weights)
    want = expected["effective_weights"]
    assert eff["Goods"] == pytest.approx(want["Goods"], abs=1e-8)
    assert eff["Renew"] == pytest.approx(want["Renew"], abs=1e-8)
    for level in range(1, framework.max_level + 1):
        assert eff[framework.get_codes(level)].sum() == pytest.approx(want["sum_per_level"])


def test_impute_vignette_subset(idata: pd.DataFrame, expected: dict[str, Any]) -> None:
    # R's ASEM_iData[37:46, 36:39]: rows 37-46 and columns 36-39, both 1-based.
    df1 = idata.iloc[36:46, 35:39].reset_index(drop=True)
    want = expected["impute_vignette_df1_rows37to46_cols36to39"]
    by_col, _ = compute_imputed(df1, method="mean")
    assert by_col["Pat"][df1["Pat"].isna()].iloc[0] == pytest.approx(want["col_mean_Pat_fill"])
    cult = by_col["CultGood"][df1["CultGood"].isna()].iloc[0]
    assert cult == pytest.approx(want["col_mean_CultGood_fill"], abs=1e-4)
    by_row, _ = compute_imputed(df1, method="row_mean")
    # Row numbers in the JSON are R's row names of ASEM_iData (1-based).
    assert by_row.loc[41 - 37, "Pat"] == pytest.approx(want["row_mean_normalise_first_Pat_row41"])
    assert by_row.loc[44 - 37, "Pat"] == pytest.approx(want["row_mean_normalise_first_Pat_row44"])
    assert by_row.loc[0, "CultGood"] == pytest.approx(
        want["row_mean_normalise_first_CultGood_row37"]
    )
