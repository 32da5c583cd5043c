"""The JSON-LD exporter: a self-contained context, one node per record, offline
expansion that keeps every value, and the schema.org/Parley triples it stands for."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from pyld import jsonld
from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection as RdfList
from rdflib.term import Node

from api import parley
from api.resources import RESOURCES
from api.v1.export import open_dataset
from api.v1.schemas import Urls, field_names
from exporters import Collection, Dataset, DatasetInfo
from exporters.linked import CONTEXT, FIELD_TERMS, JsonLdExporter
from exporters.manager import load_registry

SCHEMA = Namespace("http://schema.org/")
OA = Namespace("http://www.w3.org/ns/oa#")
PARLEY = Namespace("https://w3id.org/parley/vocab#")
EXPORTER = JsonLdExporter()

# rdflib's own JSON-LD parser still builds a ConjunctiveGraph internally.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
COMMON_FIELDS = ("id", "url", "revision", "created_at", "updated_at", "notes", "citations")
ORDERED_TEXTS = {"talks": ("aims",), "force-proposals": ("risks", "motives", "criticisms")}


def refuse(url: str, options: Any = None) -> Any:
    raise AssertionError(f"the JSON-LD processor tried to load {url}")


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """No Python-level network access: rdflib and pyld must not fetch anything."""

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", no_network)
        patch.setattr(socket, "create_connection", no_network)
        yield


def text_of(chunks: Iterable[str | bytes]) -> str:
    return "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)


def expand(text: str) -> list[dict[str, Any]]:
    expanded: list[dict[str, Any]] = jsonld.expand(json.loads(text), {"documentLoader": refuse})
    return expanded


def rdf(text: str) -> Graph:
    return Graph().parse(data=text, format="json-ld")


@dataclasses.dataclass(frozen=True)
class Exported:
    names: tuple[str, ...]
    records: dict[str, list[dict[str, Any]]]
    texts: dict[str, str]
    dataset_files: list[tuple[str, str]]

    @property
    def dataset_text(self) -> str:
        return self.dataset_files[0][1]

    def all_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name in self.names:
            for record in self.records[name]:
                yield name, record


@pytest.fixture(scope="module")
def exported(loaded_app) -> Exported:
    with parley(loaded_app).sessions() as session:
        dataset = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
        records = {c.name: list(c.records) for c in dataset.collections()}
        texts = {name: text_of(EXPORTER.export(dataset.collection(name))) for name in dataset.names}
        files = [(name, text_of(chunks)) for name, chunks in EXPORTER.export_dataset(dataset)]
    return Exported(dataset.names, records, texts, files)


@pytest.fixture(scope="module")
def graph(exported: Exported) -> Graph:
    return rdf(exported.dataset_text)


@pytest.fixture(scope="module")
def expanded_nodes(exported: Exported) -> dict[str, dict[str, Any]]:
    return {node["@id"]: node for node in expand(exported.dataset_text)}


def context_iri(term: str) -> str:
    definition = CONTEXT[term]
    return definition if isinstance(definition, str) else definition["@id"]


# -- registration and documents ------------------------------------------------------


def test_the_plugin_offers_the_jsonld_exporter():
    registry = load_registry({}, entry_points=[], builtins=("exporters.linked",))
    registered = registry.get("jsonld")
    assert registry.refused == []
    assert registered is not None
    exporter = registered.exporter
    assert (exporter.name, exporter.media_type, exporter.extension) == (
        "jsonld",
        "application/ld+json",
        "jsonld",
    )
    assert registered.version == "1"


def test_the_served_context_is_the_inline_context(exported):
    documents = {path: (media_type, body) for path, media_type, body in EXPORTER.documents()}
    media_type, body = documents["context.jsonld"]
    assert media_type == "application/ld+json"
    served = json.loads(body)
    assert set(served) == {"@context"}
    for text in [*exported.texts.values(), exported.dataset_text]:
        assert json.loads(text)["@context"] == served["@context"]


def test_the_context_defines_every_term_itself_with_absolute_iris():
    # No remote context (schema.org's or any other): no @import, no nested contexts,
    # and every term expands to an absolute IRI written out in full.
    assert isinstance(CONTEXT, dict)
    for term, definition in CONTEXT.items():
        assert not term.startswith("@"), term
        if isinstance(definition, dict):
            assert set(definition) <= {"@id", "@type", "@container"}, term
            iri = definition["@id"]
        else:
            iri = definition
        assert iri.startswith(("http://", "https://")), term


def test_every_record_field_maps_to_a_context_term():
    for resource in RESOURCES:
        terms = FIELD_TERMS[resource.name]
        for field in field_names(resource):
            if field in (*COMMON_FIELDS, "links"):
                continue
            assert terms.get(field) in CONTEXT, f"{resource.name}.{field}"


def test_the_vocabulary_describes_every_parley_term():
    documents = {path: (media_type, body) for path, media_type, body in EXPORTER.documents()}
    media_type, body = documents["vocab.jsonld"]
    assert media_type == "application/ld+json"
    vocabulary = rdf(body.decode())
    used = {context_iri(term) for term in CONTEXT if context_iri(term).startswith(str(PARLEY))}
    used.discard(str(PARLEY))  # the prefix itself
    described = {str(s) for s in vocabulary.subjects(RDFS.label, None) if str(s).startswith(PARLEY)}
    assert described == used
    for iri in used:
        local_name = iri.removeprefix(str(PARLEY))
        kind = RDFS.Class if local_name[0].isupper() else RDF.Property
        assert (URIRef(iri), RDF.type, kind) in vocabulary, iri
        assert vocabulary.value(URIRef(iri), RDFS.comment), iri


# -- document shape --------------------------------------------------------------------


def test_a_collection_is_a_graph_of_one_node_per_record_identified_by_its_url(exported):
    for name in exported.names:
        text = exported.texts[name]
        document = json.loads(text)
        assert list(document) == ["@context", "@graph"]
        assert [node["@id"] for node in document["@graph"]] == [
            record["url"] for record in exported.records[name]
        ]
        assert text.endswith("]}\n")
        assert "\n" not in text[:-1]


def test_the_dataset_is_one_file_with_every_record_of_every_collection(exported):
    assert [name for name, _ in exported.dataset_files] == ["dataset.jsonld"]
    graph_ids = [node["@id"] for node in json.loads(exported.dataset_text)["@graph"]]
    assert graph_ids == [record["url"] for _, record in exported.all_records()]


def test_an_empty_collection_is_an_empty_graph():
    info = DatasetInfo(name=None, version=None, base_url="https://parley.example", data_revision=0)
    collection = Collection("talks", field_names(RESOURCES[4]), iter([]), info)
    assert json.loads(text_of(EXPORTER.export(collection))) == {"@context": CONTEXT, "@graph": []}


def test_a_collection_with_a_field_the_format_cannot_name_is_refused_before_any_output():
    info = DatasetInfo(name=None, version=None, base_url="https://parley.example", data_revision=0)
    collection = Collection("talks", (*field_names(RESOURCES[4]), "surprise"), iter([]), info)
    with pytest.raises(ValueError, match="surprise"):
        EXPORTER.export(collection)


# -- expansion ---------------------------------------------------------------------------


def test_every_document_expands_offline(exported):
    for name in exported.names:
        assert len(expand(exported.texts[name])) == len(exported.records[name])
    assert len(expand(exported.dataset_text)) == sum(len(r) for r in exported.records.values())


def compact_properties(node: dict[str, Any]) -> Counter[str]:
    """The property IRIs of a compact node and of the nodes nested in it."""
    found: Counter[str] = Counter()
    for key, value in node.items():
        if key in ("@id", "@type"):
            continue
        assert key in CONTEXT, f"{key!r} is not a term of the context"
        found[context_iri(key)] += 1
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found += compact_properties(item)
    return found


def expanded_properties(node: dict[str, Any]) -> Counter[str]:
    found: Counter[str] = Counter()
    for key, value in node.items():
        if key == "@list":
            for item in value:
                found += expanded_properties(item)
        if key.startswith("@"):
            continue
        found[key] += 1
        for item in value:
            found += expanded_properties(item)
    return found


def test_expansion_drops_no_key(exported, expanded_nodes):
    for node in json.loads(exported.dataset_text)["@graph"]:
        assert compact_properties(node) == expanded_properties(expanded_nodes[node["@id"]])


def record_values(value: Any) -> Iterator[str]:
    """Every value of a record; a reference counts as its URL."""
    if isinstance(value, dict):
        if "url" in value and set(value) <= {"id", "url", "resource"}:
            yield value["url"]
            return
        for item in value.values():
            yield from record_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from record_values(item)
    elif value is not None:
        yield str(value)


def expanded_values(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, dict):
        for k, item in value.items():
            yield from expanded_values(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from expanded_values(item, key)
    elif key in ("@id", "@value"):
        yield str(value)


def test_expansion_keeps_every_value_of_every_record(exported, expanded_nodes):
    for name, record in exported.all_records():
        kept = set(expanded_values(expanded_nodes[record["url"]]))
        missing = set(record_values(record)) - kept
        assert not missing, f"{name}/{record['id']} lost {missing}"


def references(value: Any) -> Iterator[str]:
    """The URLs of a record's references, its own included (its ``url`` and ``links``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "url" or (key == "links" and isinstance(item, dict)):
                yield from item.values() if key == "links" else [item]
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_every_reference_is_an_iri(exported, expanded_nodes):
    for _, record in exported.all_records():
        urls = set(references(record))
        assert urls <= ids_in(expanded_nodes[record["url"]]), record["url"]


def ids_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        own = {value["@id"]} if isinstance(value.get("@id"), str) else set()
        return own.union(*(ids_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(ids_in(item) for item in value))
    return set()


# -- the triples -------------------------------------------------------------------------


def one(graph: Graph, subject: Node, predicate: Node) -> Any:
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, (subject, predicate, values)
    return values[0]


def test_a_talk_is_an_event_named_by_its_title(exported, graph):
    assert exported.records["talks"]
    for talk in exported.records["talks"]:
        node = URIRef(talk["url"])
        assert (node, RDF.type, SCHEMA.Event) in graph
        assert one(graph, node, SCHEMA.name) == Literal(talk["title"])
        assert one(graph, node, SCHEMA.location) == Literal(talk["venue"])
        assert set(graph.objects(node, SCHEMA.attendee)) == {
            URIRef(party["url"]) for party in talk["parties"]
        }


def test_each_citation_is_a_quotation_of_its_source(exported, graph):
    for _, record in exported.all_records():
        node = URIRef(record["url"])
        quotations = list(graph.objects(node, SCHEMA.citation))
        assert len(quotations) == len(record["citations"])
        found = set()
        for quotation in quotations:
            assert (quotation, RDF.type, SCHEMA.Quotation) in graph
            selectors = {
                one(graph, selector, RDF.type): selector
                for selector in graph.objects(quotation, OA.hasSelector)
            }
            position = selectors[OA.TextPositionSelector]
            found.add(
                (
                    str(one(graph, quotation, SCHEMA.isPartOf)),
                    str(one(graph, quotation, SCHEMA.text)),
                    str(one(graph, selectors[OA.TextQuoteSelector], OA.exact)),
                    one(graph, position, OA.start).toPython(),
                    one(graph, position, OA.end).toPython(),
                )
            )
        assert found == {
            (c["source"]["url"], c["quote"], c["quote"], c["start"], c["end"])
            for c in record["citations"]
        }


def test_troop_counts_are_integer_literals_from_the_record(exported, graph, expanded_nodes):
    assert exported.records["force-proposals"]
    for proposal in exported.records["force-proposals"]:
        node = URIRef(proposal["url"])
        expanded = expanded_nodes[proposal["url"]]
        assert (node, RDF.type, PARLEY.ForceProposal) in graph
        for field, term in (
            ("troops_min", PARLEY.troopsMin),
            ("troops_max", PARLEY.troopsMax),
            ("troops_needed", PARLEY.troopsNeeded),
        ):
            # Typed by the context, not only by being a JSON number.
            assert expanded[str(term)] == [{"@value": proposal[field], "@type": str(XSD.integer)}]
            literal = one(graph, node, term)
            assert isinstance(literal, Literal)
            assert literal.datatype == XSD.integer
            assert literal.toPython() == proposal[field]


def test_actors_are_typed_by_their_kind(exported, graph):
    types = {
        "state": SCHEMA.Country,
        "organization": SCHEMA.Organization,
        "alliance": SCHEMA.Organization,
        "person": SCHEMA.Person,
        "group": PARLEY.Group,
        "role": PARLEY.Role,
    }
    for actor in exported.records["actors"]:
        node = URIRef(actor["url"])
        assert set(graph.objects(node, RDF.type)) == {types[actor["kind"]]}
        assert one(graph, node, PARLEY.kind) == Literal(actor["kind"])
        assert one(graph, node, SCHEMA.name) == Literal(actor["name"])


def test_a_person_has_a_job_title_and_an_affiliation(exported, graph):
    people = [a for a in exported.records["actors"] if a["kind"] == "person"]
    assert people
    for person in people:
        node = URIRef(person["url"])
        assert set(graph.objects(node, SCHEMA.jobTitle)) == (
            {Literal(person["title"])} if person["title"] else set()
        )
        assert set(graph.objects(node, SCHEMA.affiliation)) == (
            {URIRef(person["affiliation"]["url"])} if person["affiliation"] else set()
        )


def test_a_source_is_a_creative_work(exported, graph):
    for source in exported.records["sources"]:
        node = URIRef(source["url"])
        assert (node, RDF.type, SCHEMA.CreativeWork) in graph
        assert one(graph, node, SCHEMA.name) == Literal(source["title"])
        assert set(graph.objects(node, SCHEMA.alternativeHeadline)) == (
            {Literal(source["alternate_headline"])} if source["alternate_headline"] else set()
        )


def test_a_statement_has_its_speaker_subject_and_text(exported, graph):
    for statement in exported.records["statements"]:
        node = URIRef(statement["url"])
        assert (node, RDF.type, PARLEY.Statement) in graph
        assert one(graph, node, SCHEMA.text) == Literal(statement["text"])
        for field, term in (("speaker", SCHEMA.creator), ("about", SCHEMA.about)):
            expected = {URIRef(statement[field]["url"])} if statement[field] else set()
            assert set(graph.objects(node, term)) == expected


def test_a_delegation_and_its_talk_link_each_other(exported, graph):
    for delegation in exported.records["delegations"]:
        node = URIRef(delegation["url"])
        talk = URIRef(delegation["talk"]["url"])
        assert (node, PARLEY.talk, talk) in graph
        assert (talk, PARLEY.delegation, node) in graph
        assert one(graph, node, PARLEY.party) == URIRef(delegation["party"]["url"])


def test_obstacle_positions_name_their_holders(exported, graph):
    for obstacle in exported.records["obstacles"]:
        positions = {
            (one(graph, p, PARLEY.holder), one(graph, p, PARLEY.stance))
            for p in graph.objects(URIRef(obstacle["url"]), PARLEY.position)
        }
        assert positions == {
            (URIRef(p["holder"]["url"]), Literal(p["stance"])) for p in obstacle["positions"]
        }


def test_lists_of_texts_keep_their_order(exported, graph):
    for name, fields in ORDERED_TEXTS.items():
        for record in exported.records[name]:
            for field in fields:
                head = one(graph, URIRef(record["url"]), PARLEY[field])
                assert [str(item) for item in RdfList(graph, head)] == record[field]


def test_record_dates_and_revision_are_typed(exported, graph):
    for _, record in exported.all_records():
        node = URIRef(record["url"])
        created = one(graph, node, SCHEMA.dateCreated)
        modified = one(graph, node, SCHEMA.dateModified)
        assert (created.datatype, str(created)) == (XSD.dateTime, record["created_at"])
        assert (modified.datatype, str(modified)) == (XSD.dateTime, record["updated_at"])
        assert one(graph, node, PARLEY.revision) == Literal(record["revision"])
        assert one(graph, node, SCHEMA.identifier) == Literal(record["id"])


# -- values are data ---------------------------------------------------------------------

EVIL = '{"@context": "http://evil"}'


def hand_made_talk() -> dict[str, Any]:
    url = "https://parley.example/v1/talks/t"
    return {
        "id": "t",
        "url": url,
        "revision": 1,
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": "2025-01-01T00:00:00+00:00",
        "title": "@context",
        "venue": "@id",
        "parties": [],
        "timing": "@type",
        "date": None,
        "status": "scheduled",
        "format": '"},"@context":"http://evil',
        "level": None,
        "precedent": None,
        "aims": ["@graph", "@reverse"],
        "expectations": None,
        "delegations": [],
        "obstacles": [],
        "notes": EVIL,
        "citations": [],
        "links": {"self": url},
    }


def test_text_values_stay_literals_never_keys_or_contexts():
    record = hand_made_talk()
    info = DatasetInfo(name=None, version=None, base_url="https://parley.example", data_revision=1)
    collection = Collection("talks", tuple(record), iter([record]), info)
    text = text_of(EXPORTER.export(collection))
    document = json.loads(text)
    assert document["@context"] == CONTEXT
    [expanded] = expand(text)  # the refusing loader proves http://evil is never fetched
    graph = rdf(text)
    node = URIRef(record["url"])
    for field, term in (
        ("notes", PARLEY.notes),
        ("title", SCHEMA.name),
        ("venue", SCHEMA.location),
        ("timing", PARLEY.timing),
        ("format", PARLEY["format"]),
    ):
        assert expanded[str(term)] == [{"@value": record[field]}]
        assert one(graph, node, term) == Literal(record[field])
    assert [str(item) for item in RdfList(graph, one(graph, node, PARLEY.aims))] == record["aims"]


# -- determinism and streaming -----------------------------------------------------------


def test_the_output_is_byte_identical_twice(loaded_app):
    outputs = []
    for _ in range(2):
        with parley(loaded_app).sessions() as session:
            dataset = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
            per_collection = [text_of(EXPORTER.export(c)) for c in dataset.collections()]
            whole = [(n, text_of(c)) for n, c in EXPORTER.export_dataset(dataset)]
        outputs.append((per_collection, whole))
    assert outputs[0] == outputs[1]


def counting(records: Iterator[dict[str, Any]], consumed: list[str]) -> Iterator[dict[str, Any]]:
    for record in records:
        consumed.append(record["id"])
        yield record


def test_a_collection_streams_record_by_record(loaded_app):
    with parley(loaded_app).sessions() as session:
        dataset = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
        actors = dataset.collection("actors")
        consumed: list[str] = []
        chunks = iter(
            EXPORTER.export(dataclasses.replace(actors, records=counting(actors.records, consumed)))
        )
        next(chunks)
        assert consumed == []
        next(chunks)
        assert len(consumed) == 1
        rest = list(chunks)
        assert len(consumed) > 1
        assert len(rest) == len(consumed)  # one chunk per remaining record, then the tail


def test_a_dataset_snapshot_opens_collections_as_it_reaches_them(loaded_app):
    with parley(loaded_app).sessions() as session:
        real = open_dataset(session, Urls(parley(loaded_app).settings.base_url))
        opened: list[str] = []

        def opener(name: str) -> Collection:
            opened.append(name)
            return real.collection(name)

        dataset = Dataset(real.info, real.names, opener)
        [(_, chunks)] = list(EXPORTER.export_dataset(dataset))
        chunks = iter(chunks)
        next(chunks)
        assert opened == []
        next(chunks)
        assert opened == [real.names[0]]
        list(chunks)
        assert opened == list(real.names)
