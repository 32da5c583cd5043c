"""JSON-LD: the records as linked data, described with schema.org and a small Parley vocabulary.

A document is ``{"@context": <context>, "@graph": [<node>, ...]}``, one node per
record, streamed record by record. The context is inline (and identical to the
one served at ``/v1/context.jsonld``) and defines every term itself with full
IRIs: it never refers to a remote context, so a processor expands the output
without any network access.

Mapping (record field -> node term -> IRI):

- Every record: ``url`` -> ``@id`` (the record's API URL); ``id`` ->
  ``identifier`` (schema:identifier); ``revision`` -> ``revision``
  (parley:revision, xsd:integer); ``created_at``/``updated_at`` ->
  ``dateCreated``/``dateModified`` (schema:, xsd:dateTime; they date the record,
  like an entry of a schema:DataFeed); ``notes`` -> ``notes`` (parley:notes);
  ``links`` -> ``links.self`` is the ``@id`` and the nested collections'
  URLs are ``seeAlso`` (rdfs:seeAlso) IRIs, so no link is lost.
- ``citations`` -> ``citation`` (schema:citation): one blank node of type
  schema:Quotation per citation, ``text`` = the quote, ``isPartOf`` = the source
  (schema:CreativeWork) IRI, and ``selector`` (oa:hasSelector) = a W3C Web
  Annotation ``TextQuoteSelector`` (``exact``) and ``TextPositionSelector``
  (``start``/``end``: code points in the source's seed file, ``seedFile``).
- sources: schema:CreativeWork; ``title`` -> ``name``, ``alternate_headline`` ->
  ``alternativeHeadline``, ``seed_file``/``line_start``/``line_end`` -> parley.
- actors: typed by ``kind``: state -> schema:Country, organization and alliance
  -> schema:Organization, person -> schema:Person, group -> parley:Group, role ->
  parley:Role; ``kind`` is also kept as a literal (parley:kind), so alliances stay
  distinguishable. ``name``, ``title`` -> ``jobTitle``, ``affiliation`` (IRI),
  ``description`` are schema.org.
- delegations: parley:Delegation; ``party``, ``head``, ``declined`` and ``talk``
  (the inverse of a talk's ``delegation``) are parley IRIs.
- obstacles: parley:Obstacle; ``title`` -> ``name``; ``positions`` ->
  ``position`` blank nodes of type parley:Position (``holder`` IRI, ``stance``).
- talks: schema:Event; ``title`` -> ``name``, ``venue`` -> ``location`` (text),
  ``date`` -> ``startDate`` (xsd:date), ``parties`` -> ``attendee`` (IRIs: the
  parties attend); ``delegations`` -> ``delegation`` and ``obstacles`` ->
  ``obstacle`` (parley IRIs); the rest are parley literals.
- force proposals: parley:ForceProposal; ``troops_*`` counts are xsd:integer,
  ``proposers``/``reluctant`` -> ``proposer``/``reluctant`` IRIs.
- statements: parley:Statement (a schema:CreativeWork); ``speaker`` ->
  ``creator``, ``about`` -> ``about`` (the record's IRI), ``text`` -> ``text``.

References become IRIs (terms coerced with ``"@type": "@id"``); lists of
references are unordered sets (schema.org properties such as ``attendee`` take
things, not lists), while lists of texts (``aims``, ``risks``...) keep their
order as ``@list``. A field without a value (``null`` or ``[]``) has no key in
its node: in JSON-LD both mean "no value". Record values only ever become
literals or IRIs, never keys or contexts.

Terms schema.org lacks live in the Parley vocabulary, namespace
``https://w3id.org/parley/vocab#``, described at ``/v1/vocab.jsonld`` of any
Parley server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from exporters import Chunk, Collection, Dataset, Record, hookimpl

SCHEMA = "http://schema.org/"
OA = "http://www.w3.org/ns/oa#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
VOCAB = "https://w3id.org/parley/vocab#"

MEDIA_TYPE = "application/ld+json"
CONTEXT_PATH = "context.jsonld"
VOCAB_PATH = "vocab.jsonld"
DATASET_FILE = "dataset.jsonld"

_ID = {"@type": "@id"}
_LIST = {"@container": "@list"}


def _typed(iri: str, datatype: str) -> dict[str, str]:
    return {"@id": iri, "@type": XSD + datatype}


# The one context: inline in every document and served as /v1/context.jsonld.
CONTEXT: dict[str, Any] = {
    # Prefixes, for consumers writing compact IRIs against this context.
    "schema": SCHEMA,
    "oa": OA,
    "parley": VOCAB,
    "rdfs": RDFS,
    "xsd": XSD,
    # Classes.
    "Thing": SCHEMA + "Thing",
    "CreativeWork": SCHEMA + "CreativeWork",
    "Quotation": SCHEMA + "Quotation",
    "Country": SCHEMA + "Country",
    "Organization": SCHEMA + "Organization",
    "Person": SCHEMA + "Person",
    "Event": SCHEMA + "Event",
    "TextQuoteSelector": OA + "TextQuoteSelector",
    "TextPositionSelector": OA + "TextPositionSelector",
    "Group": VOCAB + "Group",
    "Role": VOCAB + "Role",
    "Delegation": VOCAB + "Delegation",
    "Obstacle": VOCAB + "Obstacle",
    "Position": VOCAB + "Position",
    "ForceProposal": VOCAB + "ForceProposal",
    "Statement": VOCAB + "Statement",
    # Every record.
    "identifier": SCHEMA + "identifier",
    "revision": _typed(VOCAB + "revision", "integer"),
    "dateCreated": _typed(SCHEMA + "dateCreated", "dateTime"),
    "dateModified": _typed(SCHEMA + "dateModified", "dateTime"),
    "notes": VOCAB + "notes",
    "seeAlso": {"@id": RDFS + "seeAlso", **_ID},
    # Citations.
    "citation": SCHEMA + "citation",
    "text": SCHEMA + "text",
    "isPartOf": {"@id": SCHEMA + "isPartOf", **_ID},
    "selector": OA + "hasSelector",
    "exact": OA + "exact",
    "start": _typed(OA + "start", "nonNegativeInteger"),
    "end": _typed(OA + "end", "nonNegativeInteger"),
    # Shared by several collections.
    "name": SCHEMA + "name",
    "description": SCHEMA + "description",
    "kind": VOCAB + "kind",
    "level": VOCAB + "level",
    # Sources.
    "alternativeHeadline": SCHEMA + "alternativeHeadline",
    "seedFile": VOCAB + "seedFile",
    "lineStart": _typed(VOCAB + "lineStart", "integer"),
    "lineEnd": _typed(VOCAB + "lineEnd", "integer"),
    # Actors.
    "jobTitle": SCHEMA + "jobTitle",
    "affiliation": {"@id": SCHEMA + "affiliation", **_ID},
    # Delegations.
    "party": {"@id": VOCAB + "party", **_ID},
    "head": {"@id": VOCAB + "head", **_ID},
    "headDescription": VOCAB + "headDescription",
    "declined": {"@id": VOCAB + "declined", **_ID},
    "talk": {"@id": VOCAB + "talk", **_ID},
    # Obstacles.
    "position": VOCAB + "position",
    "holder": {"@id": VOCAB + "holder", **_ID},
    "stance": VOCAB + "stance",
    # Talks.
    "location": SCHEMA + "location",
    "attendee": {"@id": SCHEMA + "attendee", **_ID},
    "startDate": _typed(SCHEMA + "startDate", "date"),
    "timing": VOCAB + "timing",
    "status": VOCAB + "status",
    "format": VOCAB + "format",
    "precedent": VOCAB + "precedent",
    "aims": {"@id": VOCAB + "aims", **_LIST},
    "expectations": VOCAB + "expectations",
    "delegation": {"@id": VOCAB + "delegation", **_ID},
    "obstacle": {"@id": VOCAB + "obstacle", **_ID},
    # Force proposals.
    "proposer": {"@id": VOCAB + "proposer", **_ID},
    "contributors": VOCAB + "contributors",
    "troopsMin": _typed(VOCAB + "troopsMin", "integer"),
    "troopsMax": _typed(VOCAB + "troopsMax", "integer"),
    "troopsNeeded": _typed(VOCAB + "troopsNeeded", "integer"),
    "troopsNeededText": VOCAB + "troopsNeededText",
    "reluctant": {"@id": VOCAB + "reluctant", **_ID},
    "deploymentArea": VOCAB + "deploymentArea",
    "purpose": VOCAB + "purpose",
    "risks": {"@id": VOCAB + "risks", **_LIST},
    "motives": {"@id": VOCAB + "motives", **_LIST},
    "criticisms": {"@id": VOCAB + "criticisms", **_LIST},
    "preconditions": {"@id": VOCAB + "preconditions", **_LIST},
    "assessment": VOCAB + "assessment",
    # Statements.
    "creator": {"@id": SCHEMA + "creator", **_ID},
    "about": {"@id": SCHEMA + "about", **_ID},
    "quoted": VOCAB + "quoted",
}

# Record field -> node term, per collection (after the fields every record has).
_COMMON = {
    "id": "identifier",
    "url": "@id",
    "revision": "revision",
    "created_at": "dateCreated",
    "updated_at": "dateModified",
    "notes": "notes",
    "citations": "citation",
    "links": "seeAlso",
}
FIELD_TERMS: dict[str, dict[str, str]] = {
    "sources": {
        "title": "name",
        "alternate_headline": "alternativeHeadline",
        "seed_file": "seedFile",
        "line_start": "lineStart",
        "line_end": "lineEnd",
    },
    "actors": {
        "name": "name",
        "kind": "kind",
        "title": "jobTitle",
        "affiliation": "affiliation",
        "description": "description",
    },
    "delegations": {
        "party": "party",
        "level": "level",
        "head": "head",
        "head_description": "headDescription",
        "declined": "declined",
        "talk": "talk",
    },
    "obstacles": {"title": "name", "description": "description", "positions": "position"},
    "talks": {
        "title": "name",
        "venue": "location",
        "parties": "attendee",
        "timing": "timing",
        "date": "startDate",
        "status": "status",
        "format": "format",
        "level": "level",
        "precedent": "precedent",
        "aims": "aims",
        "expectations": "expectations",
        "delegations": "delegation",
        "obstacles": "obstacle",
    },
    "force-proposals": {
        "title": "name",
        "proposers": "proposer",
        "contributors": "contributors",
        "troops_min": "troopsMin",
        "troops_max": "troopsMax",
        "troops_needed": "troopsNeeded",
        "troops_needed_text": "troopsNeededText",
        "reluctant": "reluctant",
        "deployment_area": "deploymentArea",
        "purpose": "purpose",
        "risks": "risks",
        "motives": "motives",
        "criticisms": "criticisms",
        "preconditions": "preconditions",
        "assessment": "assessment",
    },
    "statements": {
        "speaker": "creator",
        "about": "about",
        "kind": "kind",
        "text": "text",
        "quoted": "quoted",
    },
}

COLLECTION_TYPES: dict[str, str] = {
    "sources": "CreativeWork",
    "delegations": "Delegation",
    "obstacles": "Obstacle",
    "talks": "Event",
    "force-proposals": "ForceProposal",
    "statements": "Statement",
}
ACTOR_TYPES: dict[str, str] = {
    "state": "Country",
    "organization": "Organization",
    "alliance": "Organization",
    "person": "Person",
    "group": "Group",
    "role": "Role",
}

# The Parley vocabulary: (term, label, comment, extra statements about the term).
# Classes start with a capital letter; every other term is a property.
_VOCABULARY: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Delegation", "delegation", "A party's delegation to a talk.",
     {"subClassOf": "schema:Organization"}),
    ("Obstacle", "obstacle", "An issue standing in the way of an agreement.", {}),
    ("Position", "position", "An actor's stated stance on an obstacle.", {}),
    ("ForceProposal", "force proposal",
     "A proposal to deploy a multinational (e.g. peacekeeping) force.", {}),
    ("Statement", "statement",
     "Something an actor said, or a judgement a source reports, about a record; "
     "its kind says which.", {"subClassOf": "schema:CreativeWork"}),
    ("Group", "group",
     "An informal group of people speaking or acting together (e.g. analysts).", {}),
    ("Role", "role",
     "An office standing for whoever holds it (e.g. Ukraine's defense minister).", {}),
    ("revision", "revision",
     "The revision of the record; increases with every accepted change.",
     {"rangeIncludes": "xsd:integer"}),
    ("notes", "notes",
     "Curators' notes on the record, e.g. on inconsistencies in its sources.", {}),
    ("kind", "kind",
     "The kind of an actor (state, organization, alliance, person, group, role) "
     "or of a statement (quote, judgement, expectation, key-point, assessment).",
     {"domainIncludes": ["schema:Thing", "parley:Statement"]}),
    ("level", "level",
     "The level of a talk or of a delegation, in the source's words.",
     {"domainIncludes": ["schema:Event", "parley:Delegation"]}),
    ("seedFile", "seed file",
     "The seed file a source was read from; citation offsets count code points in it.",
     {"domainIncludes": "schema:CreativeWork"}),
    ("lineStart", "first line", "The first line of a source in its seed file.",
     {"domainIncludes": "schema:CreativeWork", "rangeIncludes": "xsd:integer"}),
    ("lineEnd", "last line", "The last line of a source in its seed file.",
     {"domainIncludes": "schema:CreativeWork", "rangeIncludes": "xsd:integer"}),
    ("party", "party", "The actor (a state or organization) a delegation represents.",
     {"domainIncludes": "parley:Delegation"}),
    ("head", "head", "The actor heading a delegation.",
     {"domainIncludes": "parley:Delegation"}),
    ("headDescription", "head description",
     "Who heads a delegation, in words, when no actor is recorded.",
     {"domainIncludes": "parley:Delegation"}),
    ("declined", "declined",
     "An actor who declined to take part in the talks in person, sending the delegation.",
     {"domainIncludes": "parley:Delegation"}),
    ("talk", "talk", "The talk a delegation takes part in; the inverse of delegation.",
     {"domainIncludes": "parley:Delegation", "rangeIncludes": "schema:Event",
      "inverseOf": "parley:delegation"}),
    ("position", "position", "A stated position on an obstacle.",
     {"domainIncludes": "parley:Obstacle", "rangeIncludes": "parley:Position"}),
    ("holder", "holder", "The actor holding a position.",
     {"domainIncludes": "parley:Position"}),
    ("stance", "stance", "The holder's stance, in the source's words.",
     {"domainIncludes": "parley:Position"}),
    ("timing", "timing",
     "When a talk takes place, as the source states it (e.g. 'Friday').",
     {"domainIncludes": "schema:Event"}),
    ("status", "status", "The status of a talk: scheduled, ongoing, concluded or cancelled.",
     {"domainIncludes": "schema:Event"}),
    ("format", "format", "The format of a talk (e.g. 'direct talks').",
     {"domainIncludes": "schema:Event"}),
    ("precedent", "precedent", "The precedent a talk is measured against.",
     {"domainIncludes": "schema:Event"}),
    ("aims", "aims", "The aims of a talk, as an ordered list of texts.",
     {"domainIncludes": "schema:Event", "rangeIncludes": "rdf:List"}),
    ("expectations", "expectations", "What is expected of a talk.",
     {"domainIncludes": "schema:Event"}),
    ("delegation", "delegation", "A delegation taking part in a talk.",
     {"domainIncludes": "schema:Event", "rangeIncludes": "parley:Delegation"}),
    ("obstacle", "obstacle", "An obstacle to the success of a talk.",
     {"domainIncludes": "schema:Event", "rangeIncludes": "parley:Obstacle"}),
    ("proposer", "proposer", "An actor proposing a force.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("contributors", "contributors", "Who would contribute troops, in words.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("troopsMin", "minimum troops", "The smallest proposed size of a force, in troops.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "xsd:integer"}),
    ("troopsMax", "maximum troops", "The largest proposed size of a force, in troops.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "xsd:integer"}),
    ("troopsNeeded", "troops needed",
     "The size of force the source judges necessary, in troops.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "xsd:integer"}),
    ("troopsNeededText", "troops needed (text)", "troopsNeeded in the source's words.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("reluctant", "reluctant", "An actor reluctant to commit troops to a force.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("deploymentArea", "deployment area", "Where a force would deploy, in words.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("purpose", "purpose", "What a force is for.", {"domainIncludes": "parley:ForceProposal"}),
    ("risks", "risks", "The risks of a proposal, as an ordered list of texts.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "rdf:List"}),
    ("motives", "motives", "The motives behind a proposal, as an ordered list of texts.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "rdf:List"}),
    ("criticisms", "criticisms", "Criticisms of a proposal, as an ordered list of texts.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "rdf:List"}),
    ("preconditions", "preconditions",
     "Preconditions of a proposal's success, as an ordered list of texts.",
     {"domainIncludes": "parley:ForceProposal", "rangeIncludes": "rdf:List"}),
    ("assessment", "assessment", "The source's overall assessment of a proposal.",
     {"domainIncludes": "parley:ForceProposal"}),
    ("quoted", "quoted", "The words of a statement that are a verbatim quotation.",
     {"domainIncludes": "parley:Statement"}),
)  # fmt: skip

_VOCAB_CONTEXT: dict[str, Any] = {
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "schema": SCHEMA,
    "parley": VOCAB,
    "label": RDFS + "label",
    "comment": RDFS + "comment",
    "seeAlso": {"@id": RDFS + "seeAlso", **_ID},
    "subClassOf": {"@id": RDFS + "subClassOf", **_ID},
    "domainIncludes": {"@id": SCHEMA + "domainIncludes", **_ID},
    "rangeIncludes": {"@id": SCHEMA + "rangeIncludes", **_ID},
    "inverseOf": {"@id": OWL + "inverseOf", **_ID},
}


def _vocabulary_document() -> dict[str, Any]:
    ontology = {
        "@id": VOCAB.removesuffix("#"),
        "@type": "owl:Ontology",
        "label": "Parley vocabulary",
        "comment": (
            "Terms for peace negotiations that schema.org lacks, used by Parley's JSON-LD "
            f"context. The namespace {VOCAB} is described at /v1/vocab.jsonld of any "
            "Parley server; the context is at /v1/context.jsonld."
        ),
    }
    terms = [
        {
            "@id": f"parley:{term}",
            "@type": "rdfs:Class" if term[0].isupper() else "rdf:Property",
            "label": label,
            "comment": comment,
            **extra,
        }
        for term, label, comment, extra in _VOCABULARY
    ]
    return {"@context": _VOCAB_CONTEXT, "@graph": [ontology, *terms]}


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


CONTEXT_JSON = _dumps(CONTEXT)
CONTEXT_DOCUMENT = ('{"@context":' + CONTEXT_JSON + "}\n").encode()
VOCAB_DOCUMENT = (_dumps(_vocabulary_document()) + "\n").encode()
_HEAD = '{"@context":' + CONTEXT_JSON + ',"@graph":['
_TAIL = "]}\n"


def _iri(link: Mapping[str, Any]) -> str:
    url = link["url"]
    assert isinstance(url, str)
    return url


def _citation(citation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Quotation",
        "text": citation["quote"],
        "isPartOf": _iri(citation["source"]),
        "selector": [
            {"@type": "TextQuoteSelector", "exact": citation["quote"]},
            {"@type": "TextPositionSelector", "start": citation["start"], "end": citation["end"]},
        ],
    }


def _position(position: Mapping[str, Any]) -> dict[str, Any]:
    return {"@type": "Position", "holder": _iri(position["holder"]), "stance": position["stance"]}


def _value(field: str, value: Any, own_url: str) -> Any:
    """A record value as a node value: links become IRIs, texts and numbers stay literals."""
    if field == "citations":
        return [_citation(citation) for citation in value]
    if field == "positions":
        return [_position(position) for position in value]
    if field == "links":
        # seeAlso is a set: sorted, so that the order of the links dict cannot show.
        return sorted(url for url in value.values() if url != own_url)
    if isinstance(value, Mapping):  # a reference: {id, url} or {resource, id, url}
        return _iri(value)
    if isinstance(value, list):  # references or texts
        return [_iri(item) if isinstance(item, Mapping) else item for item in value]
    return value


def _terms(collection: str) -> dict[str, str]:
    if collection not in FIELD_TERMS:
        raise ValueError(f"the JSON-LD exporter has no mapping for collection {collection!r}")
    return _COMMON | FIELD_TERMS[collection]


def _check(collection: Collection) -> dict[str, str]:
    terms = _terms(collection.name)
    unmapped = [name for name in collection.fields if name not in terms]
    if unmapped:
        raise ValueError(
            f"the JSON-LD exporter has no term for {collection.name} field(s) "
            + ", ".join(unmapped)
        )
    return terms


def node(collection: str, record: Record, terms: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON-LD node of one record of ``collection``."""
    terms = _terms(collection) if terms is None else terms
    if collection == "actors":
        node_type = ACTOR_TYPES.get(record["kind"], "Thing")
    else:
        node_type = COLLECTION_TYPES[collection]
    result: dict[str, Any] = {"@type": node_type}
    own_url = record["url"]
    for field, value in record.items():
        if field not in terms:
            raise ValueError(f"the JSON-LD exporter has no term for {collection} field {field!r}")
        if value is None or value == [] or value == {}:
            continue
        converted = _value(field, value, own_url)
        if converted == []:
            continue
        result[terms[field]] = converted
    return result


def _nodes(collection: Collection, first: bool) -> Iterator[str]:
    terms = _check(collection)
    for record in collection.records:
        yield ("" if first else ",") + _dumps(node(collection.name, record, terms))
        first = False


def _document(collections: Iterable[Collection]) -> Iterator[str]:
    yield _HEAD
    first = True
    for collection in collections:
        for chunk in _nodes(collection, first):
            first = False
            yield chunk
    yield _TAIL


class JsonLdExporter:
    name = "jsonld"
    media_type = MEDIA_TYPE
    extension = "jsonld"
    version = "1"

    def export(self, collection: Collection) -> Iterator[Chunk]:
        _check(collection)  # refuse an unmapped field before streaming anything
        return _document([collection])

    def export_dataset(self, dataset: Dataset) -> Iterator[tuple[str, Iterator[Chunk]]]:
        for name in dataset.names:
            _terms(name)
        yield DATASET_FILE, _document(dataset.collections())

    def documents(self) -> Iterator[tuple[str, str, bytes]]:
        yield CONTEXT_PATH, MEDIA_TYPE, CONTEXT_DOCUMENT
        yield VOCAB_PATH, MEDIA_TYPE, VOCAB_DOCUMENT


@hookimpl
def parley_register_exporters() -> list[JsonLdExporter]:
    return [JsonLdExporter()]
