"""The NGSI-LD query language (ETSI GS CIM 009, clause 4.9) and entity selection.

``q`` terms compare an attribute's value (``intensity>100``), test its presence
(``pm25``), match a pattern (``name~=(?i)xizhi``), a list (``kind==1,2``) or a range
(``occupancy==0.2..0.5``); ``;`` is AND, ``|`` is OR and binds looser, parentheses
group. A term may name a sub-attribute or metadata with a dot (``intensity.observedAt``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.contexts import Terms
from urbanpulse.ngsi.geo import GeoQuery, get_distance_metres, parse_geo_query, read_geometry
from urbanpulse.ngsi.validation import URI
from urbanpulse.ngsi.vocabulary import ENTITY_TYPES, SUBJECTS

MISSING: Any = object()
_TERM = re.compile(
    r"^\s*((?:[^\W\d]|@)[\w.:\[\]@*{}-]*?)\s*(?:(!~=|~=|==|!=|>=|<=|>|<)(.*))?$", re.S
)
# A linked-entity subquery's step in a path: ``managedBy{Building:name}`` is the path
# (managedBy, LINKED, Building, name), the type hint empty when none is given.
LINKED = "{}"
_LINKED_TERM = re.compile(r"^([^{}]+)\{(?:([^\W\d][\w:.-]*?):)?([^{}:]+)\}\Z")


class AnyOf(tuple[Any, ...]):
    """Values a term is held against together: every language of a LanguageProperty
    (``color[*]``), the items of a list or an array value. A term matches when any of
    them does, != and !~= when every one does (none is equal; ETSI GS CIM 009 4.9)."""


class RelationshipObject(str):
    """A Relationship's object: only == and != compare it; any other operator does not
    match (ETSI GS CIM 009 4.9)."""

    __slots__ = ()


_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?\Z")
_BARE = re.compile(r"^[\w:.+-]+\Z")  # dates and times are written unquoted
_NAME = re.compile(r"^[^\W\d]\w*\Z")  # a term, as validation.TERM


# The operator of ``!name``: the attribute is absent (ETSI GS CIM 009 4.9).
ABSENT = "absent"


@dataclass(frozen=True)
class Term:
    """One comparison: attribute path, operator (None tests presence, ABSENT absence)
    and value."""

    path: tuple[str, ...]
    op: str | None = None
    value: Any = None


@dataclass(frozen=True)
class Logical:
    """Terms joined by AND (``;``) or OR (``|``)."""

    op: str
    items: tuple[Term | Logical, ...]


Expr = Term | Logical


@dataclass(frozen=True)
class EntityQuery:
    """Which entities a query selects (every field empty selects every entity)."""

    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    id_pattern: re.Pattern[str] | None = None
    q: Expr | None = None
    attrs: tuple[str, ...] = ()
    geo: GeoQuery | None = None
    # scopeQ: alternatives (``,``), each scope patterns that must all match (``;``)
    scopes: tuple[tuple[tuple[str, ...], ...], ...] = ()
    # The request's JSON-LD @context, the book it is read with and its languages: a
    # type named as a term or as the IRI it expands to selects the same entities.
    terms: Terms | None = field(default=None, compare=False)


def build_entity_query(
    *,
    type: str | None = None,
    id: str | None = None,
    id_pattern: str | None = None,
    q: str | None = None,
    attrs: str | None = None,
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    geoproperty: str | None = None,
    scope_q: str | None = None,
    linked_depth: int = 0,
) -> EntityQuery:
    """Parse the query parameters of ``GET /ngsi-ld/v1/entities``; ``linked_depth``
    is how deep the request's join reads linked entities (0: no join), as deep as q
    may look through Relationships (``owner{name}``).

    Raises
    ------
    InvalidQueryError
        With one line naming the parameter and what is wrong with it.
    """
    expr = parse_q(q) if q else None
    deepest = max((path.count(LINKED) for path in get_q_paths(expr)), default=0)
    if deepest > linked_depth:  # ETSI GS CIM 009 5.7.2.4
        raise InvalidQueryError(
            f"q {q!r} reads linked entities {deepest} deep; ask for them with join "
            f"(and joinLevel >= {deepest}), or leave the {{...}} out"
        )
    pattern = None
    if id_pattern:
        try:
            pattern = re.compile(id_pattern)
        except re.error as exc:
            raise InvalidQueryError(
                f"idPattern {id_pattern!r} is not a regular expression: {exc}"
            ) from exc
    # type=* (NGSI-LD 1.8) asks for entities of any type: a type query without a filter.
    types = () if type == "*" else tuple(get_short_type(t) for t in split_list(type))
    return EntityQuery(
        types=types,
        ids=split_list(id),
        # Ids name the entities outright: a pattern beside them is not applied (ETSI
        # GS CIM 009 5.2.33, "id takes precedence over idPattern"); it is still checked.
        id_pattern=None if split_list(id) else pattern,
        q=expr,
        attrs=tuple(_check_name(a, "attrs") for a in split_list(attrs)),
        geo=parse_geo_query(
            georel=georel, geometry=geometry, coordinates=coordinates, geoproperty=geoproperty
        ),
        scopes=parse_scope_query(scope_q),
    )


_SCOPE_PATTERN = re.compile(
    r"^/(#|([A-Za-z_][A-Za-z0-9_]*|\+)(/([A-Za-z_][A-Za-z0-9_]*|\+))*(/#)?)\Z"
)


def parse_scope_query(text: str | None) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """A scopeQ (ETSI GS CIM 009 4.19): ``,`` or ``|`` separate alternatives, ``;``
    joins patterns that must all match; a pattern is /levels where ``+`` stands for one
    level and a final ``#`` for any number (``/#``: any scope).

    Raises
    ------
    InvalidQueryError
        A pattern that is not /level[/level...].
    """
    if text is None:
        return ()
    alternatives = []
    for alternative in _split_scope_alternatives(text):
        patterns = tuple(alternative.strip().split(";"))
        for pattern in patterns:
            if not _SCOPE_PATTERN.match(pattern):
                raise InvalidQueryError(f"scopeQ {text!r}: {pattern!r} is not /level[/level...]")
        alternatives.append(tuple(tuple(p.split("/")[1:]) for p in patterns))
    return tuple(alternatives)


def _split_scope_alternatives(text: str) -> list[str]:
    """A scopeQ's alternatives, parentheses around a conjunction taken off: in
    ``(/A;/B)|/C`` they group, and ``;`` binds tighter than ``|`` anyway. An
    alternative nested in a conjunction (``/A;(/B|/C)``) is refused, not misread."""
    depth, start, parts = 0, 0, []
    for k, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise InvalidQueryError(f"scopeQ {text!r}: a ')' closes nothing")
        if char in ",|" and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    if depth:
        raise InvalidQueryError(f"scopeQ {text!r}: a '(' is not closed")
    parts.append(text[start:])
    alternatives = []
    for part in parts:
        bare = part.strip()
        while bare.startswith("(") and bare.endswith(")"):
            bare = bare[1:-1].strip()
        if any(c in bare for c in "()|,"):
            raise InvalidQueryError(
                f"scopeQ {text!r}: alternatives inside a conjunction are not supported; "
                "write them out, e.g. (/A;/B)|(/A;/C)"
            )
        alternatives.append(bare)
    return alternatives


def match_scopes(query: tuple[tuple[tuple[str, ...], ...], ...], scope: Any) -> bool:
    """Whether an entity's scope (a text or a list of them) meets a parsed scopeQ."""
    scopes = [s.split("/")[1:] for s in (scope if isinstance(scope, list) else [scope]) if isinstance(s, str)]  # fmt: skip
    return any(
        all(any(_match_scope(pattern, levels) for levels in scopes) for pattern in alternative)
        for alternative in query
    )


def _match_scope(pattern: tuple[str, ...], levels: list[str]) -> bool:
    if pattern and pattern[-1] == "#":
        head = pattern[:-1]
        return len(levels) >= len(head) and _match_scope(head, levels[: len(head)])
    return len(pattern) == len(levels) and all(p in ("+", level) for p, level in zip(pattern, levels, strict=True))  # fmt: skip


@dataclass(frozen=True)
class OrderKey:
    """One key of an orderBy: a member path, the direction, and for an order by
    distance (``location;dist-asc``) the reference geometry measured from."""

    path: tuple[str, ...]
    descending: bool = False
    reference: BaseGeometry | None = None


Order = tuple[OrderKey, ...]


def parse_order(text: str | None, reference: BaseGeometry | None = None) -> Order:
    """An orderBy (ETSI GS CIM 009 4.23, 5.2.43): comma list of member paths (``name``,
    ``name.subProperty``, ``id``, ``createdAt``) each with an optional ``;asc`` or
    ``;desc``, or a GeoProperty with ``;dist-asc`` or ``;dist-desc`` (metres from
    ``reference``).

    Raises
    ------
    InvalidQueryError
        An empty key, a path that is not names, a direction other than these, or an
        order by distance without a reference.
    """
    if text is None:
        return ()
    keys = []
    for part in text.split(","):
        path, _, direction = part.partition(";")
        names = _split_order_path(path)
        if not all(_PROJECTED.match(n.removeprefix("[")) for n in names) or direction not in ("", "asc", "desc", "dist-asc", "dist-desc"):  # fmt: skip
            raise InvalidQueryError(f"orderBy {text!r}: {part!r} is not member[.member][;asc|;desc|;dist-asc|;dist-desc]")  # fmt: skip
        distance = direction.startswith("dist-")
        if distance and reference is None:
            raise InvalidQueryError(f"orderBy {part!r}: an order by distance needs coordinates to measure from")  # fmt: skip
        keys.append(OrderKey(names, direction.endswith("desc"), reference if distance else None))
    return tuple(keys)


def _split_order_path(path: str) -> tuple[str, ...]:
    """``name.subProperty`` steps into sub-attributes, ``address[city]`` into a member
    of the value (kept as '[city')."""
    steps: list[str] = []
    for part in path.split("."):
        head, *members = part.split("[")
        steps.append(head)
        for member in members:
            steps.append("[" + (member[:-1] if member.endswith("]") else "\0"))
    return tuple(steps)


def sort_entities(entities: list[dict[str, Any]], order: Order) -> list[dict[str, Any]]:
    """Entities in ``order`` (each key ascending or descending, one without the member
    last), ties by id."""

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for key in order:
            first, second = _order_value(a, key), _order_value(b, key)
            if first == second:
                continue
            if first is MISSING or second is MISSING:
                return 1 if first is MISSING else -1
            result = -1 if _rank(first) < _rank(second) else 1
            return -result if key.descending else result
        return (a["id"] > b["id"]) - (a["id"] < b["id"])

    return sorted(entities, key=functools.cmp_to_key(compare))


def _order_value(entity: dict[str, Any], key: OrderKey) -> Any:
    path = key.path
    value: Any = entity.get(path[0], MISSING)
    if isinstance(value, list):
        value = value[0] if value else MISSING
    for step in path[1:]:
        if step.startswith("["):  # a member of the value: a value from here on
            inner = value.get("value", MISSING) if isinstance(value, dict) else MISSING
            value = inner.get(step[1:], MISSING) if isinstance(inner, dict) else MISSING
            value = {"value": value} if value is not MISSING else MISSING
            continue
        value = value.get(step, MISSING) if isinstance(value, dict) else MISSING
    if key.reference is not None:  # an attribute, or its keyValues form: a geometry
        place = value.get("value", value) if isinstance(value, dict) else None
        geometry = read_geometry(place)
        return MISSING if geometry is None else get_distance_metres(geometry, key.reference)
    if isinstance(value, dict):  # an attribute, or a sub-attribute: its value
        value = value.get("value", value.get("object", MISSING))
    return value if isinstance(value, str | int | float | bool) else MISSING


def _rank(value: Any) -> tuple[int, Any]:
    # Numbers before texts, as JSON orders them; booleans as numbers.
    return (0, float(value)) if isinstance(value, int | float) else (1, str(value))


def split_list(text: str | None) -> tuple[str, ...]:
    """A comma list as a tuple, blanks dropped."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def get_short_type(name: str) -> str:
    """A type given by its short name or expanded IRI, as its short name."""
    for entity_type in ENTITY_TYPES:
        expanded = f"https://smartdatamodels.org/dataModel.{SUBJECTS[entity_type]}/{entity_type}"
        if name == expanded:
            return entity_type
    return name


def parse_q(text: str) -> Expr:
    """Parse an NGSI-LD ``q`` expression.

    Raises
    ------
    InvalidQueryError
        When the expression cannot be parsed.
    """
    parser = _Parser(text)
    expr = parser.parse_or()
    if parser.pos != len(text):
        raise InvalidQueryError(
            f"invalid q {text!r}: unexpected {text[parser.pos]!r} at {parser.pos}"
        )
    return expr


# System attributes: every entity has them, so a query naming only these selects all.
SYSTEM_ATTRIBUTES = frozenset({"createdAt", "modifiedAt", "deletedAt", "expiresAt"})


def get_q_names(text: str | None) -> set[str]:
    """The attributes a q text reads (the first step of each path)."""
    return {path[0] for path in get_q_paths(parse_q(text))} if text else set()


def get_q_paths(expr: Expr | None) -> list[tuple[str, ...]]:
    """The attribute paths a q expression reads."""
    if expr is None:
        return []
    if isinstance(expr, Term):
        return [expr.path]
    return [path for item in expr.items for path in get_q_paths(item)]


def match_q(expr: Expr, get: Callable[[tuple[str, ...]], Any]) -> bool:
    """Whether an entity matches ``expr``; ``get(path)`` returns a value or MISSING."""
    if isinstance(expr, Logical):
        results = (match_q(item, get) for item in expr.items)
        return all(results) if expr.op == "and" else any(results)
    value = get(expr.path)
    present = value is not MISSING and value is not None
    if expr.op == ABSENT:
        return not present
    if not present:
        return False
    if expr.op is None:
        return True
    if isinstance(value, RelationshipObject) and expr.op not in ("==", "!="):
        return False
    if isinstance(value, AnyOf | list):
        found = (_compare(v, expr.op, expr.value) for v in value)
        return all(found) if expr.op in ("!=", "!~=") else any(found)
    return _compare(value, expr.op, expr.value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self._take("|"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Logical("or", tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_primary()]
        while self._take(";"):
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else Logical("and", tuple(items))

    def parse_primary(self) -> Expr:
        if self._take("("):
            expr = self.parse_or()
            if not self._take(")"):
                raise InvalidQueryError(f"invalid q {self.text!r}: missing ')'")
            return expr
        start, quoted, depth = self.pos, False, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            in_pattern = "~=" in self.text[start : self.pos]
            if char == '"':
                quoted = not quoted
            elif in_pattern and char == "(":
                depth += 1  # a group inside a pattern, not a group of terms
            elif in_pattern and char == ")" and depth:
                depth -= 1
            elif not quoted and not depth and char in ";|()":
                break
            self.pos += 1
        return _parse_term(self.text[start : self.pos], self.text)

    def _take(self, char: str) -> bool:
        if self.pos < len(self.text) and self.text[self.pos] == char:
            self.pos += 1
            return True
        return False


def _parse_term(term: str, text: str) -> Term:
    negated = term.strip().startswith("!")
    found = _TERM.match(term.strip()[1:] if negated else term)
    if not found or not term.strip():
        raise InvalidQueryError(f"invalid q {text!r}: cannot read term {term!r}")
    name, op, raw = found.groups()
    path = _parse_path(name, text)
    if negated and op is not None:
        raise InvalidQueryError(f"invalid q {text!r}: ! negates an attribute's presence, not a comparison ({term.strip()!r})")  # fmt: skip
    if op is None:
        return Term(path, ABSENT if negated else None)
    raw = raw.strip()
    if not raw:
        raise InvalidQueryError(f"invalid q {text!r}: {name}{op} has no value")
    if op in ("~=", "!~="):
        try:
            return Term(path, op, re.compile(raw.strip('"')))
        except re.error as exc:
            raise InvalidQueryError(f"invalid q {text!r}: bad pattern {raw!r}: {exc}") from exc
    if op not in ("==", "!=") and not raw.startswith('"') and (".." in raw or "," in raw):
        raise InvalidQueryError(f"invalid q {text!r}: a range or a list is compared with == or !=")  # fmt: skip
    if op in ("==", "!="):
        listed = _split_unquoted(raw, ",")
        if len(listed) > 1:  # "Eiffel Tower","Pisa Tower": any of them
            return Term(path, op, ("list", *(_parse_value(v, text) for v in listed)))
        if not raw.startswith('"') and ".." in raw:
            low, high = raw.split("..", 1)
            return Term(path, op, ("range", _parse_value(low, text), _parse_value(high, text)))
    return Term(path, op, _parse_value(raw, text))


def _split_unquoted(raw: str, separator: str) -> list[str]:
    """``raw`` split at each ``separator`` outside double quotes."""
    parts, start, quoted = [], 0, False
    for position, char in enumerate(raw):
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(raw[start:position])
            start = position + 1
    return [*parts, raw[start:]]


def _parse_path(name: str, text: str) -> tuple[str, ...]:
    """A term's attribute path: name[.member|[member]]..., or a linked-entity subquery
    name{[Type:]path} (LINKED marks where the linked entity's path starts)."""
    if "{" not in name and "}" not in name:
        return tuple(part for part in re.split(r"[.\[\]]", name) if part)
    linked = _LINKED_TERM.match(name)
    if linked is None:
        raise InvalidQueryError(f"invalid q {text!r}: {name!r} is not relationship{{[Type:]attribute}}")  # fmt: skip
    head, hint, inner = linked.groups()
    return (*_parse_path(head, text), LINKED, hint or "", *_parse_path(inner, text))


def _parse_value(raw: str, text: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1]
    if raw in ("true", "false"):
        return raw == "true"
    if _NUMBER.match(raw):
        return float(raw)
    if not _BARE.match(raw):
        raise InvalidQueryError(f"invalid q {text!r}: bad value {raw!r}")
    return raw  # a date, time or bare word: compared as text


def _compare(value: Any, op: str, wanted: Any) -> bool:
    if op in ("~=", "!~="):
        found = isinstance(value, str) and wanted.search(value) is not None
        return found if op == "~=" else not found
    if isinstance(wanted, tuple):
        if wanted[0] == "range":
            low, high = _order(value, wanted[1]), _order(value, wanted[2])
            inside = low is not None and high is not None and low >= 0 and high <= 0
        else:
            inside = any(_order(value, w) == 0 for w in wanted[1:])
        return inside if op == "==" else not inside
    order = _order(value, wanted)
    if order is None:
        return op == "!="
    return {"==": order == 0, "!=": order != 0, ">": order > 0, ">=": order >= 0,
            "<": order < 0, "<=": order <= 0}[op]  # fmt: skip


def _order(value: Any, wanted: Any) -> Any:
    """-1, 0 or 1 comparing value to wanted; None when they cannot be compared."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return 0 if value is wanted else (None if type(value) is not type(wanted) else 1)
    if isinstance(value, int | float) and isinstance(wanted, int | float):
        return (value > wanted) - (value < wanted)
    if isinstance(value, str) and isinstance(wanted, str):
        return (value > wanted) - (value < wanted)
    return None


def _check_name(name: str, parameter: str) -> str:
    """An attribute name: a term of the request's @context, or the IRI it stands for."""
    if not (_NAME.match(name) or URI.match(name)):
        raise InvalidQueryError(f"{parameter}: {name!r} is not an attribute name")
    return name


# An entity member or attribute name in pick and omit: a term or an IRI, no separators.
_PROJECTED = re.compile(r"^[A-Za-z_@][A-Za-z0-9_:/#.@-]*\Z")


# How many Relationships deep a join may follow (urbanpulse.ngsi.links), and so how
# deep a projection's braces may nest: each level may read every entity the one
# before points at.
MAX_JOIN_LEVEL = 10


@dataclass(frozen=True)
class Projection:
    """What ``pick`` keeps or ``omit`` drops of an entity, and, by Relationship name,
    of the entities a join links to it (``locatedAt{id,name}``)."""

    pick: frozenset[str] = frozenset()
    omit: frozenset[str] = frozenset()
    linked: dict[str, Projection] = field(default_factory=dict)


def parse_linked_projection(pick: str | None, omit: str | None, attrs: str | None) -> Projection | None:  # fmt: skip
    """The entity members ``pick`` keeps or ``omit`` drops (ETSI GS CIM 009 4.21), a
    member with braces (``locatedAt{id,name}``) projecting the entity a join links
    (None: neither given).

    Raises
    ------
    InvalidQueryError
        Both given, either with ``attrs``, a name that is not one, unbalanced braces or
        braces nested deeper than a join can go.
    """
    if pick is None and omit is None:
        return None
    if pick is not None and omit is not None:
        raise InvalidQueryError("give pick or omit, not both")
    if attrs is not None:
        raise InvalidQueryError("pick and omit replace attrs: give one of them")
    text = pick if pick is not None else omit
    where = f"{'pick' if pick is not None else 'omit'} {text!r}"
    tree, rest = _parse_members(text or "", where, 0)
    if rest:
        raise InvalidQueryError(f"{where}: unbalanced braces")
    return _to_projection(tree, picking=pick is not None)


def get_projection_depth(projection: Projection | None) -> int:
    """How many Relationships deep a projection reaches (0: the entity's own members)."""
    if projection is None or not projection.linked:
        return 0
    return 1 + max(get_projection_depth(p) for p in projection.linked.values())


def _parse_members(text: str, where: str, depth: int) -> tuple[dict[str, Any], str]:
    """Members up to an unmatched ``}``: name -> nested members; what follows it."""
    if depth > MAX_JOIN_LEVEL:  # a URL of braces must not exhaust the stack
        raise InvalidQueryError(f"{where}: braces nested deeper than {MAX_JOIN_LEVEL}")
    members: dict[str, Any] = {}
    while True:
        found = re.match(r"([^,|{}]*)", text)
        name = found.group(1) if found else ""
        text = text[len(name) :]
        if not _PROJECTED.match(name):
            raise InvalidQueryError(f"{where}: {name!r} is not a member name")
        members[name] = {}
        if text.startswith("{"):
            members[name], text = _parse_members(text[1:], where, depth + 1)
            if not text.startswith("}"):
                raise InvalidQueryError(f"{where}: unbalanced braces")
            text = text[1:]
        if not text or text.startswith("}"):
            return members, text
        text = text[1:]  # ',' and '|' both separate members


def _to_projection(tree: dict[str, Any], *, picking: bool) -> Projection:
    linked = {name: _to_projection(sub, picking=picking) for name, sub in tree.items() if sub}
    if picking:
        return Projection(pick=frozenset(tree), linked=linked)
    # An omitted member with braces is kept: only the entity it links loses members.
    return Projection(omit=frozenset(n for n, sub in tree.items() if not sub), linked=linked)


def project(entity: dict[str, Any], pick: frozenset[str], omit: frozenset[str]) -> dict[str, Any]:
    """An entity with only the members ``pick`` names, or without those ``omit`` does
    (an @context is kept: it is how the answer is read, not a member)."""
    if pick:
        return {k: v for k, v in entity.items() if k in pick or k == "@context"}
    if omit:
        return {k: v for k, v in entity.items() if k not in omit}
    return entity
