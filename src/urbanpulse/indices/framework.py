"""Index frameworks: the indicator hierarchy, read from TOML, YAML or a COINr iMeta table.

A framework says which indicators exist, how each is read (direction, unit,
denominator, weight) and how they roll up (indicator -> pillar -> ... -> index).
It may also carry the default pipeline steps, so one file describes an index.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from urbanpulse.errors import ConfigurationError

NODE_COLUMNS = [
    "code",
    "name",
    "kind",
    "level",
    "parent",
    "weight",
    "direction",
    "unit",
    "denominator",
    "scale",
    "target",
    "concept",
    "base_shift",
]


@dataclass(frozen=True)
class Framework:
    """An index hierarchy plus its default pipeline.

    Attributes
    ----------
    name
        Human-readable name of the index.
    nodes
        One row per indicator or aggregate; columns as in ``NODE_COLUMNS``.
        Indicators are level 1; an aggregate's level is one above its highest child.
    denominators
        Codes of the data columns indicators may be divided by (population, gdp...).
    groups
        Codes of the data columns holding unit groupings (for group-mean imputation,
        Theil decomposition).
    steps
        The pipeline steps, each a dict with a ``step`` key and its parameters.
    """

    name: str
    nodes: pd.DataFrame
    denominators: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    steps: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def indicators(self) -> list[str]:
        """Indicator codes, in framework order."""
        return self.nodes.loc[self.nodes["kind"] == "indicator", "code"].tolist()

    @property
    def max_level(self) -> int:
        """Level of the root (the index)."""
        return int(self.nodes["level"].max())

    @property
    def root(self) -> str:
        """Code of the single top node."""
        return str(self.nodes.loc[self.nodes["level"] == self.max_level, "code"].iloc[0])

    def get_codes(self, level: int) -> list[str]:
        """Codes of every node at ``level``, in framework order."""
        return self.nodes.loc[self.nodes["level"] == level, "code"].tolist()

    def get_children(self, code: str) -> list[str]:
        """Codes of the direct children of ``code``."""
        return self.nodes.loc[self.nodes["parent"] == code, "code"].tolist()

    def get_node(self, code: str) -> pd.Series:
        """The framework row of one node."""
        rows = self.nodes[self.nodes["code"] == code]
        if rows.empty:
            raise ConfigurationError(f"framework has no node {code!r}")
        return rows.iloc[0]

    def get_weights(self) -> pd.Series:
        """Framework weights of every node, indexed by code."""
        return self.nodes.set_index("code")["weight"].astype(float)

    def get_directions(self) -> pd.Series:
        """Direction (+1 or -1) of every indicator, indexed by code."""
        ind = self.nodes[self.nodes["kind"] == "indicator"]
        return ind.set_index("code")["direction"].astype(float)

    def with_steps(self, steps: list[dict[str, Any]]) -> Framework:
        """Return a copy of this framework with another pipeline."""
        return Framework(self.name, self.nodes, self.denominators, self.groups, tuple(steps))


def read_framework(path: str | Path) -> Framework:
    """Read a framework file (``.toml``, ``.yaml``/``.yml``, or a COINr iMeta ``.csv``).

    Raises
    ------
    ConfigurationError
        If the file cannot be parsed or does not describe a valid hierarchy.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        elif suffix == ".csv":
            return build_framework_from_imeta(pd.read_csv(path), name=path.stem)
        else:
            raise ConfigurationError(f"{path}: framework must be .toml, .yaml or .csv")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot parse framework: {exc}") from exc
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read framework: {exc}") from exc
    if not isinstance(spec, dict):
        raise ConfigurationError(f"{path}: framework file must hold a mapping")
    return build_framework(spec)


def build_framework(spec: dict[str, Any]) -> Framework:
    """Build a framework from a parsed TOML/YAML mapping.

    The mapping holds ``name``, ``indicator`` (list of tables), ``aggregate`` (list of
    tables), optional ``denominators``, ``groups`` and ``step`` (list of step tables).
    """
    rows = [_build_node(item, "indicator") for item in spec.get("indicator", [])]
    rows += [_build_node(item, "aggregate") for item in spec.get("aggregate", [])]
    if not rows:
        raise ConfigurationError("framework defines no indicators")
    nodes = pd.DataFrame(rows, columns=NODE_COLUMNS)
    steps = tuple(dict(s) for s in spec.get("step", []))
    for s in steps:
        if "step" not in s:
            raise ConfigurationError(f"pipeline step without a 'step' name: {s}")
    return Framework(
        name=str(spec.get("name", "index")),
        nodes=_assign_levels(nodes),
        denominators=tuple(spec.get("denominators", ())),
        groups=tuple(spec.get("groups", ())),
        steps=steps,
    )


def build_framework_from_imeta(imeta: pd.DataFrame, *, name: str = "index") -> Framework:
    """Build a framework from a COINr ``iMeta`` table (columns Level, iCode, Type, ...).

    Rows of type ``Group`` and ``Denominator`` become the framework's groups and
    denominators; indicators and aggregates become nodes.
    """
    required = {"iCode", "Type", "Parent", "Weight", "Direction"}
    missing = required - set(imeta.columns)
    if missing:
        raise ConfigurationError(f"iMeta lacks columns: {sorted(missing)}")
    rows = []
    for _, r in imeta[imeta["Type"].isin(["Indicator", "Aggregate"])].iterrows():
        rows.append(
            _build_node(
                {
                    "code": r["iCode"],
                    "name": r.get("iName", r["iCode"]),
                    "parent": r["Parent"],
                    "weight": r["Weight"],
                    "direction": r["Direction"],
                    "unit": r.get("Unit"),
                    "denominator": r.get("Denominator"),
                    "target": r.get("Target"),
                },
                "indicator" if r["Type"] == "Indicator" else "aggregate",
            )
        )
    nodes = pd.DataFrame(rows, columns=NODE_COLUMNS)
    return Framework(
        name=name,
        nodes=_assign_levels(nodes),
        denominators=tuple(imeta.loc[imeta["Type"] == "Denominator", "iCode"]),
        groups=tuple(imeta.loc[imeta["Type"] == "Group", "iCode"]),
    )


def _clean(value: Any) -> Any:
    """Turn NaN and empty strings (as pandas and TOML give them) into None."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    return value


def _build_node(item: dict[str, Any], kind: str) -> dict[str, Any]:
    if "code" not in item:
        raise ConfigurationError(f"framework {kind} without a 'code': {item}")
    direction = _clean(item.get("direction")) or 1
    if float(direction) not in (1.0, -1.0):
        raise ConfigurationError(f"{item['code']}: direction must be 1 or -1, not {direction}")
    weight = float(_clean(item.get("weight")) if _clean(item.get("weight")) is not None else 1.0)
    if weight < 0:
        raise ConfigurationError(f"{item['code']}: weight must be >= 0, not {weight}")
    target = _clean(item.get("target"))
    return {
        "code": str(item["code"]),
        "name": str(_clean(item.get("name")) or item["code"]),
        "kind": kind,
        "level": 1 if kind == "indicator" else None,
        "parent": _clean(item.get("parent")),
        "weight": weight,
        "direction": float(direction),
        "unit": _clean(item.get("unit")),
        "denominator": _clean(item.get("denominator")),
        "scale": float(_clean(item.get("scale")) or 1.0),
        "target": None if target is None else float(target),
        "concept": _clean(item.get("concept")),
        # Added before base-year ratios, for indicators that can be zero or negative.
        "base_shift": float(_clean(item.get("base_shift")) or 0.0),
    }


def _assign_levels(nodes: pd.DataFrame) -> pd.DataFrame:
    """Give each aggregate the level one above its highest child; check the tree."""
    codes = nodes["code"].tolist()
    if len(codes) != len(set(codes)):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise ConfigurationError(f"duplicate framework codes: {dup}")
    unknown = set(nodes["parent"].dropna()) - set(codes)
    if unknown:
        raise ConfigurationError(f"parents not defined in the framework: {sorted(unknown)}")
    roots = nodes.loc[nodes["parent"].isna(), "code"].tolist()
    if len(roots) != 1:
        raise ConfigurationError(f"framework needs exactly one root, found {roots}")
    levels = dict(zip(nodes["code"], nodes["level"], strict=True))
    children = nodes.groupby("parent")["code"].apply(list).to_dict()

    def level_of(code: str, seen: frozenset[str]) -> int:
        if code in seen:
            raise ConfigurationError(f"framework hierarchy has a cycle at {code!r}")
        if levels[code] is not None and not pd.isna(levels[code]):
            return int(levels[code])
        kids = children.get(code)
        if not kids:
            raise ConfigurationError(f"aggregate {code!r} has no children")
        levels[code] = 1 + max(level_of(k, seen | {code}) for k in kids)
        return int(levels[code])

    for code in codes:
        level_of(code, frozenset())
    out = nodes.copy()
    out["level"] = [int(levels[c]) for c in out["code"]]
    return out
