"""Words that reach the pages as data (site kinds, metrics, units, day types, scopes,
dataset titles), marked here so the catalogues have them; a template shows one with
``{{ _(site.kind | replace("_", " ")) }}``. A new kind or metric adds a line here."""

from __future__ import annotations

from urbanpulse.i18n import N_

SITE_KINDS = (
    N_("metro station"),
    N_("bus stop"),
    N_("rail station"),
    N_("road sensor"),
    N_("air monitor"),
    N_("counter"),
    N_("other"),
)
METRICS = (
    N_("boardings"),
    N_("alightings"),
    N_("load"),
    N_("load up"),
    N_("load down"),
    N_("entries"),
    N_("exits"),
    N_("flow"),
    N_("speed"),
    N_("occupancy"),
    N_("pm25"),
    N_("pm10"),
    N_("no2"),
    N_("o3"),
    N_("count"),
)
UNITS = (
    N_("passengers"),
    N_("share of capacity"),
    N_("vehicles"),
    N_("vehicles/h"),
    N_("km/h"),
    N_("ug/m3"),
    N_("count"),
    N_("persons"),
)
DAY_TYPES = (N_("weekday"), N_("weekend"), N_("holiday"))
SCOPES = (N_("public"), N_("business"), N_("government"), N_("admin"))
DATASET_TITLES = (
    N_("Observations: boardings"),
    N_("Observations: alightings"),
    N_("Observations: flow"),
    N_("Observations: load"),
    N_("Observations: load_up"),
    N_("Observations: load_down"),
    N_("Observations: entries"),
    N_("Observations: exits"),
    N_("Observations: no2"),
    N_("Observations: pm25"),
    N_("Observations: speed"),
    N_("Sites"),
    N_("Yearly city indicators"),
    N_("Provincial statistics of China"),
)
# The monitor's exportable tables (urbanpulse.indices.export.TABLES), with "_" as " ".
MONITOR_TABLES = (
    N_("scores"),
    N_("base year index"),
    N_("ranks"),
    N_("coupling"),
    N_("pairwise coupling"),
    N_("disparity"),
    N_("area ratios"),
    N_("weights"),
    N_("normalised"),
    N_("inputs"),
    N_("log"),
)
# The five development concepts by code, as the provincial tables name them.
CONCEPTS = (
    N_("innovation"),
    N_("coordination"),
    N_("green"),
    N_("openness"),
    N_("sharing"),
    N_("population"),
)
