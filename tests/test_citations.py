"""Every stored citation slices the seed to exactly its quote, inside its document."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from api.bundled import seeds_dir
from api.models import Citation, Source
from api.seeds import read_seeds
from tests.conftest import REPO


def test_every_citation_slices_its_seed_to_the_quote_within_its_document(db_session):
    seeds = read_seeds(seeds_dir())
    sources = {s.id: s for s in db_session.scalars(select(Source))}
    citations = db_session.scalars(select(Citation)).all()
    assert citations
    for citation in citations:
        document = seeds.documents[citation.source_id]
        text = seeds.text_of(document)
        assert text[citation.start : citation.end] == citation.quote, citation.quote
        assert document.char_start <= citation.start < citation.end <= document.char_end
        source = sources[citation.source_id]
        assert (source.line_start, source.line_end) == (document.line_start, document.line_end)


def test_quotes_that_occur_more_than_once_keep_the_occurrence_the_curator_chose(db_session):
    seeds = read_seeds(seeds_dir())
    text = next(iter(seeds.files.values())).text
    # The `start` each curator wrote, read from the YAML itself.
    chosen = {}
    for path in sorted((REPO / "fixtures").glob("*.yaml")):
        for resource, records in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            if not isinstance(records, list):
                continue
            for record in records:
                for position, citation in enumerate(record["citations"]):
                    if "start" in citation:
                        chosen[(resource, record["id"], position)] = citation["start"]
    stored = {
        (c.resource, c.record_id, c.position): c for c in db_session.scalars(select(Citation))
    }
    repeated = [key for key, c in stored.items() if text.count(c.quote) > 1]
    assert repeated, "the fixtures should exercise quotes that occur more than once"
    for key in repeated:
        citation = stored[key]
        assert text[citation.start : citation.end] == citation.quote
        assert chosen[key] == citation.start


def test_offsets_count_code_points_not_bytes(db_session):
    seeds = read_seeds(seeds_dir())
    text = next(iter(seeds.files.values())).text
    raw = text.encode("utf-8")
    after_curly = [c for c in db_session.scalars(select(Citation)) if "’" in text[: c.start]]
    assert after_curly
    for citation in after_curly:
        # A byte offset would be larger than the code-point offset past a curly quote.
        assert raw[citation.start : citation.end].decode("utf-8", "replace") != citation.quote
