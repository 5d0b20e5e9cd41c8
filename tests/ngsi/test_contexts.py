"""JSON-LD term expansion against the @context documents the broker knows, never
fetching one from the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from urbanpulse.ngsi.contexts import DEFAULT_VOCABULARY, build_context_book

SUITE = "https://example.org/contexts/suite.jsonld"
COMPOUND = "https://example.org/contexts/compound.jsonld"


@pytest.fixture
def book(tmp_path: Path):  # type: ignore[no-untyped-def]
    suite, compound = tmp_path / "suite.jsonld", tmp_path / "compound.jsonld"
    suite.write_text(json.dumps({"@context": {"Building": "https://example.org/vocab#Building", "ex": "https://example.org/vocab#"}}))  # fmt: skip
    compound.write_text(json.dumps({"@context": [SUITE, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"]}))  # fmt: skip
    return build_context_book({SUITE: suite, COMPOUND: compound}, {"/own": {"@context": {"Stop": "https://example.org/own#Stop"}}})  # fmt: skip


def test_terms_expand_through_known_documents_inline_objects_and_the_default_vocabulary(
    book,
) -> None:  # type: ignore[no-untyped-def]
    assert (
        book.expand("Building", COMPOUND) == "https://example.org/vocab#Building"
    )  # via the chain
    assert book.expand("ex:Tower", SUITE) == "https://example.org/vocab#Tower"  # a compact IRI
    assert book.expand("City", COMPOUND) == DEFAULT_VOCABULARY + "City"  # mapped nowhere
    assert book.expand("Tree", {"Tree": {"@id": "https://example.org/t#Tree"}}) == "https://example.org/t#Tree"  # fmt: skip
    assert (
        book.expand("https://example.org/x#Y", None) == "https://example.org/x#Y"
    )  # an IRI is itself
    assert (
        book.expand("Stop", "https://any.host/own") == "https://example.org/own#Stop"
    )  # our own, wherever served
    # A context the book does not know adds nothing: it is never fetched.
    assert book.expand("Building", "https://unknown.example/ctx.jsonld") == DEFAULT_VOCABULARY + "Building"  # fmt: skip


def test_a_listed_context_that_is_not_a_json_object_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        build_context_book({SUITE: bad}, {})


def test_names_are_compacted_into_the_readers_context_unless_the_writers_is_unknown(
    book,
) -> None:  # type: ignore[no-untyped-def]
    """A name means the IRI its writer's context gives it; the reader's context names
    that IRI by its own term, else in full. Under a context the book does not hold,
    what a name means cannot be told, so it is kept as written."""
    core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
    to_suite = book.translate(None, SUITE)
    assert to_suite("City") == "City"  # the default vocabulary's, under both
    assert book.translate(SUITE, None)("Building") == "https://example.org/vocab#Building"
    assert book.translate(SUITE, COMPOUND)("Building") == "Building"
    # a default-vocabulary IRI whose term the reader's context gives another IRI stays whole
    assert to_suite("Building") == DEFAULT_VOCABULARY + "Building"
    assert book.compact("https://uri.etsi.org/ngsi-ld/location", SUITE) == "location"  # core
    unknown = "https://unknown.example/ctx.jsonld"
    assert book.translate(unknown, SUITE)("Building") == "Building"
    assert book.knows([SUITE, core]) and not book.knows([SUITE, unknown])
