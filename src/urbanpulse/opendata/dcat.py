"""The catalogue as DCAT (W3C Data Catalog Vocabulary) in JSON-LD."""

from __future__ import annotations

from typing import Any

from urbanpulse.opendata.datasets import Dataset
from urbanpulse.opendata.formats import FORMAT_MEDIA_TYPES

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "up": "https://urbanpulse.example/ns#",
    "synthetic": {"@id": "up:synthetic", "@type": "xsd:boolean"},
}
# Dublin Core's frequency vocabulary, as DCAT-AP recommends.
FREQUENCIES = {
    "continuous": "http://purl.org/cld/freq/continuous",
    "daily": "http://purl.org/cld/freq/daily",
    "annual": "http://purl.org/cld/freq/annual",
    "irregular": "http://purl.org/cld/freq/irregular",
}


def build_dcat_catalog(
    datasets: list[Dataset], *, base_url: str, links: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """A ``dcat:Catalog`` with one ``dcat:Dataset`` per dataset.

    Parameters
    ----------
    base_url
        The server's address, without a trailing slash.
    links
        Per dataset id, the URL of each format (``{"csv": ".../datasets/x?format=csv"}``),
        from the edge that serves them.
    """
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": "UrbanPulse open data",
        "dct:description": "Datasets of the city cluster published by UrbanPulse.",
        "dcat:landingPage": {"@id": f"{base_url}/developers"},
        "synthetic": any(d.synthetic for d in datasets),
        "dcat:dataset": [_dataset(d, base_url, links.get(d.dataset_id, {})) for d in datasets],
    }


def _dataset(dataset: Dataset, base_url: str, links: dict[str, str]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": f"{base_url}/api/catalog#{dataset.dataset_id}",
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.dataset_id,
        "dct:title": dataset.title,
        "dct:description": dataset.description,
        "dct:license": _licence(dataset.licence),
        "dct:provenance": {"@type": "dct:ProvenanceStatement", "rdfs:label": dataset.provenance},
        "dct:accrualPeriodicity": {"@id": FREQUENCIES[dataset.update_frequency]},
        "up:requiredScope": dataset.scope,
        "up:rows": dataset.coverage.rows,
        "synthetic": dataset.synthetic,
        "dcat:distribution": [
            {
                "@type": "dcat:Distribution",
                "dct:format": fmt,
                "dcat:mediaType": FORMAT_MEDIA_TYPES[fmt].split(";")[0],
                "dcat:accessURL": {"@id": url},
                "dct:license": _licence(dataset.licence),
            }
            for fmt, url in links.items()
        ],
    }
    cov = dataset.coverage
    if cov.start or cov.end:
        node["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": {"@value": cov.start, "@type": _time_type(cov.start)},
            "dcat:endDate": {"@value": cov.end, "@type": _time_type(cov.end)},
        }
    if cov.bbox is not None or cov.regions:
        spatial: dict[str, Any] = {"@type": "dct:Location"}
        if cov.bbox is not None:
            w, s, e, n = cov.bbox
            spatial["dcat:bbox"] = {
                "@value": f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))",
                "@type": "geo:wktLiteral",
            }
        if cov.regions:
            spatial["rdfs:label"] = "Regions (GB/T 2260 codes): " + ", ".join(cov.regions)
        node["dct:spatial"] = spatial
    return node


def _licence(licence: str) -> dict[str, str]:
    if licence.startswith(("http://", "https://")):
        return {"@id": licence}
    return {"rdfs:label": licence}


def _time_type(value: str | None) -> str:
    return "xsd:date" if value is not None and len(value) == 10 else "xsd:dateTime"
