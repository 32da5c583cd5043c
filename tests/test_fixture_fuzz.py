"""Generated fixture files, fed to `parley load`'s code path on both backends.

Each example takes one bundled fixture file and damages it: in its structure
(wrong types, missing and unknown keys, bad references, duplicated records, random
YAML values at random places), in its text (broken quotes, stray indicators, tags,
aliases, scalars YAML reads as something else, deep nesting) or in its bytes
(invalid UTF-8, a BOM, another encoding). The load either succeeds, and the
database then holds exactly what the files say, or raises the loader's own
FixtureError, each problem naming a fixture file and a path inside it, and the
database is exactly as it was (its fingerprint unchanged).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from api import lifecycle, parley
from api.fixtures import FixtureError, read_fixtures, read_records
from api.resources import RESOURCES, AnyRef, Ref, Scalar
from tests.conftest import REPO, fresh_database_url, make_app
from tests.dbstate import fingerprint
from tests.fuzzing import fuzz_scale, fuzz_seed, report_line

EXAMPLES = 40  # per backend, times FUZZ_SCALE under `make fuzz`
DATASET = "dataset.yaml"
FILES = sorted([DATASET, *(r.fixture_file for r in RESOURCES)])
RESOURCE_OF = {r.fixture_file: r for r in RESOURCES}
BUNDLED = {name: (REPO / "fixtures" / name).read_text(encoding="utf-8") for name in FILES}

# Scalars and fragments YAML reads as something else than they look, or not at all.
SNIPPETS = [
    '"',
    "'",
    ": ",
    "- ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    ",",
    "#",
    "|",
    ">",
    "@",
    "`",
    "%",
    "&a ",
    "*a",
    "? ",
    "<<: *a",
    "\\",
    "~",
    "null",
    "yes",
    "on",
    "0o17",
    "0x1F",
    "1_000",
    "1:30",
    ".NaN",
    "-.inf",
    "2026-02-30",
    "2026-11-25 10:00:00",
    "1" + "0" * 5000,
    "!!str 1",
    "!!int x",
    "!!float x",
    "!!bool maybe",
    "!!timestamp soon",
    "!!binary %%%",
    "!!binary /w==",
    "!!python/name:os.system",
    "!!python/object/apply:os.system ['true']",
    "!!omap [a]",
    "!!set {a}",
    "!!pairs [a]",
    "!custom x",
    '"\\ud800"',
    '"\\0"',
    '"\\x"',
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "[" * 2000 + "]" * 2000,
    "{a: " * 50 + "1" + "}" * 50,
    "\ufeff",
    "\u202e",
    "\x85",
    "\u2028",
]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
# Values aimed at one kind of member: each is wrong for it, or right in a tricky way.
TRICKY_TEXT = ["\ud800", "a\x00b", "", " ", "x" * 5000, "\u202e", "'; DROP TABLE talks; --"]
TRICKY_REFERENCE = ["nope", "Russia", "", "russia ", "../russia", "talks/russia", "russia\x00"]
TRICKY_BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "text": st.sampled_from(TRICKY_TEXT) | values,
    "int": st.sampled_from([-1, 2**31, 2**63, 1.5, float("nan"), "10", True]) | values,
    "date": st.sampled_from(["2026-02-30", "Friday", 20260101, "2026-11-25T10:00"])
    | st.datetimes()
    | st.dates()
    | values,
    "reference": st.sampled_from(TRICKY_REFERENCE) | values,
    "list": st.lists(st.sampled_from(TRICKY_REFERENCE + TRICKY_TEXT), max_size=3) | values,
}


def _kind(spec: Any) -> str:
    if isinstance(spec, Scalar):
        return spec.type
    if isinstance(spec, Ref | AnyRef):
        return "reference"
    return "list"


def _places(document: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a member or item of ``document``."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*path, key)
            yield from _places(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*path, index)
            yield from _places(value, (*path, index))


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def damaged_member(draw: st.DrawFn, name: str, document: Any) -> Any:
    """One record's member (present or not) set to a value aimed at its kind."""
    resource = RESOURCE_OF.get(name)
    records = document.get(resource.name) if resource and isinstance(document, dict) else None
    if resource is None or not isinstance(records, list) or not records:
        return draw(values)
    record = draw(st.sampled_from(records))
    if not isinstance(record, dict):
        return document
    specs = [s for s in resource.fields if not (isinstance(s, Scalar) and s.derived)]
    spec = draw(st.sampled_from(specs))
    record[spec.name] = draw(TRICKY_BY_KIND[_kind(spec)])
    return document


@st.composite
def damaged_structure(draw: st.DrawFn, name: str) -> str:
    document = copy.deepcopy(yaml.safe_load(BUNDLED[name]))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = list(_places(document))
        kind = draw(st.sampled_from(["member", "member", "set", "delete", "add", "duplicate"]))
        if kind == "member" or not places:
            document = draw(damaged_member(name, document))
            continue
        path = draw(st.sampled_from(places))
        parent = _parent(document, path)
        if kind == "set":
            parent[path[-1]] = draw(values)
        elif kind == "delete":
            del parent[path[-1]]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    text: str = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return text


MEMBER_LINE = re.compile(r"^(\s*)(- )?([\w-]+): ?(.*)$")
ODD_KEYS = ["? [a, b]\n{indent}: x", "1: x", "~: x", "true: x", "2026-01-01: x", "[a]: x"]
ODD_KEYS += ["{{a: 1}}: x", "&k key: x", "*k : x", '"\\ud800": x', "id: again"]


@st.composite
def damaged_text(draw: st.DrawFn, name: str) -> str:
    """The file's text, with values and keys on its member lines replaced by odd YAML, and
    fragments inserted anywhere."""
    lines = BUNDLED[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        members = [i for i, line in enumerate(lines) if MEMBER_LINE.match(line)]
        if not members:
            break
        kind = draw(st.sampled_from(["value", "value", "key", "anywhere", "delete", "repeat"]))
        index = draw(st.sampled_from(members))
        match = MEMBER_LINE.match(lines[index])
        assert match is not None
        indent, dash, key, _value = match.groups()
        if kind == "value":
            lines[index] = f"{indent}{dash or ''}{key}: {draw(st.sampled_from(SNIPPETS))}\n"
        elif kind == "key":
            inner = indent + ("  " if dash else "")
            odd = draw(st.sampled_from(ODD_KEYS)).format(indent=inner)
            lines.insert(index + 1, f"{inner}{odd}\n")
        elif kind == "anywhere":
            at = draw(st.integers(min_value=0, max_value=len(lines[index])))
            line = lines[index]
            lines[index] = line[:at] + draw(st.sampled_from(SNIPPETS)) + line[at:]
        elif kind == "delete":
            del lines[index]
        else:
            lines.insert(index, lines[index])
    return "".join(lines)


@st.composite
def damaged_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FILES))
    layer = draw(st.sampled_from(["structure", "text", "bytes"]))
    if layer == "structure":
        return name, draw(damaged_structure(name)).encode("utf-8", "surrogatepass")
    if layer == "text":
        return name, draw(damaged_text(name)).encode("utf-8", "surrogatepass")
    raw = BUNDLED[name].encode("utf-8")
    kind = draw(st.sampled_from(["bad-bytes", "bom", "utf-16", "binary"]))
    if kind == "bom":
        return name, b"\xef\xbb\xbf" + raw
    if kind == "utf-16":
        return name, BUNDLED[name].encode("utf-16")
    at = draw(st.integers(min_value=0, max_value=len(raw)))
    inserted = draw(st.sampled_from(BAD_BYTES) if kind == "bad-bytes" else st.binary(min_size=1))
    return name, raw[:at] + inserted + raw[at:]


@dataclasses.dataclass
class Loader:
    """An app on a database of its own (loads change it), loading from a folder."""

    app: Flask

    def load(self, folder: Path) -> Any:
        state = parley(self.app)
        configured = dataclasses.replace(
            state.settings, fixtures_dir=folder, seeds_dir=REPO / "seeds"
        )
        self.app.extensions["parley"] = dataclasses.replace(state, settings=configured)
        try:
            return lifecycle.load(self.app)
        finally:
            self.app.extensions["parley"] = state


@pytest.fixture(scope="module")
def loader(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loader]:
    instance = tmp_path_factory.mktemp(f"fixture-fuzz-{backend}")
    app = make_app(fresh_database_url(request, backend, instance), instance)
    lifecycle.prepare_database(app)
    yield Loader(app)
    parley(app).engine.dispose()


def check_refusal(error: FixtureError, folder: Path, name: str) -> None:
    files = {f"{folder}/{f}" for f in FILES}
    assert error.problems
    for problem in error.problems:
        assert problem.file in files, problem
        assert problem.message.strip(), problem
        assert "Traceback" not in problem.message
        resource = RESOURCE_OF.get(Path(problem.file).name)
        if resource is not None and problem.path:
            assert problem.path == resource.name or problem.path.startswith(f"{resource.name}["), (
                problem
            )
        assert str(problem).startswith(f"{problem.file}: ")


def check_loaded(loader: Loader, folder: Path) -> None:
    expected = read_fixtures(folder, REPO / "seeds")
    with parley(loader.app).sessions() as session:
        for resource in RESOURCES:
            stored = read_records(session, resource)
            for record_id, record in expected.records[resource.name].items():
                assert stored[record_id][0] == record, (resource.name, record_id)


@pytest.fixture(scope="module")
def outcomes() -> Iterator[Counter[str]]:
    """How the generated files fared (in this process), reported at the module's end."""
    counted: Counter[str] = Counter()
    yield counted
    if counted:
        line = (
            f"fixture fuzz: FUZZ_SEED={fuzz_seed()} documents={sum(counted.values())} "
            f"loaded={counted['loaded']} refused={counted['refused']}"
        )
        print(line)
        report_line(line)


@seed(fuzz_seed())
@settings(  # the loaded profile's, with this test's size
    max_examples=EXAMPLES * fuzz_scale(),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(damaged=damaged_file())
def test_a_damaged_fixture_file_loads_whole_or_is_refused_by_file_and_path(
    loader: Loader, outcomes: Counter[str], damaged: tuple[str, bytes]
) -> None:
    name, content = damaged
    engine = parley(loader.app).engine
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "fixtures"
        shutil.copytree(REPO / "fixtures", folder)
        (folder / name).write_bytes(content)
        before = fingerprint(engine)
        try:
            loader.load(folder)
        except FixtureError as error:
            check_refusal(error, folder, name)
            assert fingerprint(engine) == before
            outcome = "refused"
        else:
            check_loaded(loader, folder)
            outcome = "loaded"
        event(outcome)
        outcomes[outcome] += 1
