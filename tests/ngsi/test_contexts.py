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
