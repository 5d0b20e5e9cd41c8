"""The monitor's tables as a statistics bureau publishes them: wide (a row per city, a
column per year or concept), headers and city names in the reader's language, figures
rounded as the report prints them. The long, machine-readable tables stay in the
export beside them (``indices.export``), for whoever checks a number.
"""

from __future__ import annotations

import pandas as pd

from urbanpulse.i18n import N_, get_local_names
from urbanpulse.i18n import gettext as _
from urbanpulse.indices.monitor import MonitorResult
from urbanpulse.indices.views import get_ranking

# Stable ids (CSV ?table=...) and their titles (sheet names, at most 31 characters).
PUBLISHED = {
    "ranking": N_("Ranking {year}"),
    "score_by_year": N_("Total score by year"),
    "index_by_year": N_("Base-year index by year"),
    "coordination": N_("Coordination {year}"),
}


def build_published_tables(result: MonitorResult, *, year: int) -> dict[str, pd.DataFrame]:
    """The published tables of ``year`` by id (see :data:`PUBLISHED`), in the current
    language."""
    fw = result.pipeline.framework
    root, concepts = fw.root, fw.get_children(fw.root)
    city = _("City")
    ranking = get_ranking(result, year)
    names = {r.region_code: _name(r.name_zh, r.name_en) for r in ranking.itertuples()}
    scores = result.scores[result.scores["year"] == year]
    wide = scores.pivot(index="region_code", columns="code", values="value")
    ranked = pd.DataFrame(
        {
            _("Rank"): ranking["rank"].astype(int).to_numpy(),
            city: [names[c] for c in ranking["region_code"]],
            _("Score"): ranking["score"].round(1).to_numpy(),
            _("Index ({base_year}=100)").format(base_year=result.base_year): ranking[
                "base_year_index"
            ]
            .round(1)
            .to_numpy(),
            _("Rank interval"): [
                f"{int(lo)}–{int(hi)}"
                for lo, hi in zip(ranking["rank_p05"], ranking["rank_p95"], strict=True)
            ],
            **{
                _(str(fw.get_node(c)["name"])): wide.loc[ranking["region_code"], c]
                .round(1)
                .to_numpy()
                for c in concepts
            },
        }
    )
    order = list(ranking["region_code"])
    coupling = result.coupling[result.coupling["year"] == year].set_index("region_code").loc[order]
    return {
        "ranking": ranked,
        "score_by_year": _by_year(result.scores, root, order, names, digits=1),
        "index_by_year": _by_year(result.base_year_index, root, order, names, digits=1),
        "coordination": pd.DataFrame(
            {
                city: [names[c] for c in order],
                _("Coupling C"): coupling["coupling"].round(3).to_numpy(),
                _("Development T"): coupling["development"].round(3).to_numpy(),
                _("Coordination D"): coupling["coordination"].round(3).to_numpy(),
                _("Band"): [_(str(b)) for b in coupling["band"]],
            }
        ),
    }


def get_published_title(table_id: str, *, year: int) -> str:
    """A published table's title in the current language (a sheet name)."""
    return _(PUBLISHED[table_id]).format(year=year)[:31]


def _by_year(
    table: pd.DataFrame, code: str, order: list[str], names: dict[str, str], *, digits: int
) -> pd.DataFrame:
    """A row per city (in ranking order), a column per year."""
    rows = table[table["code"] == code].pivot(index="region_code", columns="year", values="value")
    rows = rows.reindex(order).round(digits)
    rows.columns = [str(int(y)) for y in rows.columns]
    rows.insert(0, _("City"), [names[c] for c in order])
    return rows.reset_index(drop=True)


def _name(chinese: object, english: object) -> str:
    return get_local_names(chinese, english)[0]
