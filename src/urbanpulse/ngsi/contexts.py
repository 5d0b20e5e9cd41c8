"""JSON-LD term expansion against the @context documents the broker knows.

An NGSI-LD term (a type, an attribute name) means the IRI its @context expands it to:
``Building`` under a context that maps it to ``https://example.org/Building`` is that
IRI, and a query may name either. Contexts arrive inline (an object in a body) or by
URL (a list in a body, a Link header). UrbanPulse never fetches a URL it is given,
which would let any caller make the server request any address: it expands against
inline contexts, its own context, and the documents an operator lists in the setting
``ngsild_contexts`` (URL -> local file). A context it does not know adds no terms,
and a term no context maps takes the core context's default vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from urbanpulse.ngsi.languages import LanguageRange

# Where a term no @context defines expands to (the NGSI-LD core context's @vocab).
DEFAULT_VOCABULARY = "https://uri.etsi.org/ngsi-ld/default-context/"
# Where ETSI publishes the core context, each version under its own name: its terms
# are the core vocabulary and the default one, which every context includes.
CORE_CONTEXT_PREFIX = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
# Where the NGSI-LD core context's own terms (location, observedAt, ...) expand to.
CORE_VOCABULARY = "https://uri.etsi.org/ngsi-ld/"
MAX_DEPTH = 8  # contexts that name contexts: enough for any real chain, not a loop
MAX_KEPT = 256  # term maps kept, one per distinct @context seen
MAX_NAMES = 10_000  # renamings kept for one pair of contexts


class ContextBook:
    """The @context documents known by URL, and term expansion against them."""

    def __init__(self, documents: dict[str, Any], default: str | None = None) -> None:
        self.documents = documents
        # The context a server answers in when a request names none (its own).
        self.default = default
        self._terms: dict[str, dict[str, Any]] = {}  # by context, as JSON
        self._names: dict[str, dict[str, str]] = {}  # IRI -> term, by context, as JSON
        # name -> name, by (source, target) context, as JSON: each name of a pair of
        # contexts is worked out once, not once per entity that carries it
        self._renamed: dict[tuple[str, str], dict[str, str]] = {}

    def expand(self, term: str, context: Any) -> str:
        """The IRI ``term`` means under ``context`` (a URL, an object or a list)."""
        terms = self._get_terms(json.dumps(context, sort_keys=True))
        if term in terms:
            return _resolve(terms[term], terms)
        prefix, sep, suffix = term.partition(":")
        if sep:  # an IRI, a URN, or a compact IRI whose prefix the context maps
            return terms[prefix] + suffix if prefix in terms and isinstance(terms[prefix], str) else term  # fmt: skip
        return str(terms.get("@vocab") or DEFAULT_VOCABULARY) + term

    def compact(self, iri: str, context: Any) -> str:
        """The name ``context`` gives ``iri``: a term it defines as that IRI (the
        shortest), else the IRI less the default vocabulary, else the IRI itself."""
        key = json.dumps(context, sort_keys=True)
        terms = self._get_terms(key)
        if key not in self._names:
            names: dict[str, str] = {}
            for term, definition in sorted(terms.items(), key=lambda t: (len(t[0]), t[0])):
                resolved = _resolve(definition, terms)
                if resolved and not term.startswith("@"):
                    names.setdefault(resolved, term)
            self._names[key] = names
        if iri in self._names[key]:
            return self._names[key][iri]
        # The core context is in force under every other: its terms keep their names.
        for vocabulary in (str(terms.get("@vocab") or DEFAULT_VOCABULARY), CORE_VOCABULARY):
            rest = iri.removeprefix(vocabulary)
            # ... unless the context defines that term as another IRI
            if rest != iri and rest and "/" not in rest and rest not in terms:
                return rest
        return iri

    def translate(self, source: Any, target: Any) -> Callable[[str], str]:
        """Names under ``source`` as ``target`` names the same IRIs (a term under one
        @context read under another); the same context translates nothing."""
        pair = (json.dumps(source, sort_keys=True), json.dumps(target, sort_keys=True))
        if pair[0] == pair[1] or not self.knows(source):
            # The same context; or one whose names cannot be told here: kept as written.
            return _same
        if pair not in self._renamed:
            if len(self._renamed) >= MAX_KEPT:
                self._renamed.clear()
            self._renamed[pair] = {}
        known = self._renamed[pair]

        def rename(term: str) -> str:
            if term not in known:
                if len(known) >= MAX_NAMES:  # names a caller sends are not kept forever
                    known.clear()
                known[term] = self.compact(self.expand(term, source), target)
            return known[term]

        return rename

    def knows(self, context: Any, depth: int = 0) -> bool:
        """Whether every document ``context`` names is one the book holds (an inline
        context, and none at all, the core context alone, are known)."""
        if isinstance(context, list):
            return depth <= MAX_DEPTH and all(self.knows(part, depth + 1) for part in context)
        if isinstance(context, str):
            known = context in self.documents or urlsplit(context).path in self.documents
            return known or context.startswith(CORE_CONTEXT_PREFIX)
        return True

    def _get_terms(self, context_json: str) -> dict[str, Any]:
        if context_json not in self._terms:
            if len(self._terms) >= MAX_KEPT:
                self._terms.clear()
                self._names.clear()
            terms: dict[str, Any] = {}
            self._collect(json.loads(context_json), terms, 0)
            self._terms[context_json] = terms
        return self._terms[context_json]

    def _collect(self, context: Any, terms: dict[str, Any], depth: int) -> None:
        if depth > MAX_DEPTH or context is None:
            return
        if isinstance(context, list):
            for part in context:
                self._collect(part, terms, depth + 1)
        elif isinstance(context, str):
            # UrbanPulse's own context is known under whichever host served it.
            known = self.documents.get(context) or self.documents.get(urlsplit(context).path)
            if isinstance(known, dict):
                self._collect(known.get("@context"), terms, depth + 1)
        elif isinstance(context, dict):
            terms.update(context)


@dataclass(frozen=True)
class Terms:
    """The @context a request is read and answered in, the book that expands it, and
    the natural languages it asks LanguageProperties in (``lang``)."""

    book: ContextBook
    context: Any  # the request's @context; None: the core context alone
    languages: tuple[LanguageRange, ...] | None = None


def _same(term: str) -> str:
    return term


def _resolve(value: Any, terms: dict[str, Any]) -> str:
    """A term's definition as an IRI: text, or an object's @id; compact IRIs expanded."""
    iri = value.get("@id") if isinstance(value, dict) else value
    if not isinstance(iri, str):
        return ""
    prefix, sep, suffix = iri.partition(":")
    if sep and prefix in terms and isinstance(terms[prefix], str) and not suffix.startswith("//"):
        return str(terms[prefix]) + suffix
    return iri


def build_context_book(files: dict[str, Path], own: dict[str, Any]) -> ContextBook:
    """The book of an app: each listed URL's local document, and UrbanPulse's own
    context under each URL it is published at (``own``: URL -> document).

    Raises
    ------
    ValueError
        A listed file that cannot be read as a JSON object.
    """
    documents: dict[str, Any] = dict(own)
    for url, path in files.items():
        document = json.loads(Path(path).read_text("utf-8"))
        if not isinstance(document, dict):
            raise ValueError(f"the @context file {path} for {url} is not a JSON object")
        documents[url] = document
    return ContextBook(documents, default=next(iter(own), None))
