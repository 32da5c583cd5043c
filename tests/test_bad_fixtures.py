"""Each kind of bad fixture: one clear message naming file and path, exit 3, nothing written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from api import parley
from api.cli import EXIT_FIXTURES, main
from tests.dbstate import fingerprint

SEED = "000_99193e7426fd7b3b.txt"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def break_yaml(root: Path) -> None:
    edit(root / "fixtures/talks.yaml", "    venue:", "   venue: [unclosed\n    venue:")


def drop_required_field(root: Path) -> None:
    edit(root / "fixtures/talks.yaml", '    title: "Peace talks', '    heading: "Peace talks')


def mistype_a_number(root: Path) -> None:
    edit(root / "fixtures/force-proposals.yaml", "troops_min: 10000", 'troops_min: "10,000"')


def misspell_a_reference(root: Path) -> None:
    edit(root / "fixtures/talks.yaml", "      - istanbul-talks-ukraine", "      - rusia")


def duplicate_an_id(root: Path) -> None:
    edit(root / "fixtures/actors.yaml", "  - id: ukraine\n", "  - id: russia\n")


def duplicate_a_key(root: Path) -> None:
    edit(
        root / "fixtures/talks.yaml",
        '    venue: "Istanbul"',
        '    venue: "Istanbul"\n    venue: "Ankara"',
    )


def quote_not_in_the_seed(root: Path) -> None:
    edit(
        root / "fixtures/talks.yaml",
        "the first direct talks since March 2022.",
        "the first direct talks since May 2023.",
    )


def ambiguous_quote(root: Path) -> None:
    # "Both sides" occurs twice in the seed; the fixture picks one with `start`.
    edit(root / "fixtures/obstacles.yaml", "start: 2301\n", "")


def quote_at_the_wrong_start(root: Path) -> None:
    edit(root / "fixtures/obstacles.yaml", "start: 2301", "start: 2300")


def change_the_seed(root: Path) -> None:
    seed = root / "seeds" / SEED
    seed.write_bytes(seed.read_bytes().replace(b"Friday", b"Monday"))


def unknown_source(root: Path) -> None:
    edit(
        root / "fixtures/talks.yaml", "source: istanbul-talks-analysis", "source: istanbul-analysis"
    )


def venue(value: str) -> Callable[[Path], None]:
    """The first talk's venue written as ``value`` (YAML source text)."""

    def damage(root: Path) -> None:
        edit(root / "fixtures/talks.yaml", '    venue: "Istanbul"', f"    venue: {value}")

    return damage


def talk_member(line: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        edit(
            root / "fixtures/talks.yaml", '    venue: "Istanbul"', f'{line}\n    venue: "Istanbul"'
        )

    return damage


def talk_date(value: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        edit(root / "fixtures/talks.yaml", "    date: null", f"    date: {value}")

    return damage


def huge_number(root: Path) -> None:
    edit(root / "fixtures/force-proposals.yaml", "troops_min: 10000", "troops_min: 1" + "0" * 5000)


def emptied(name: str, text: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        (root / "fixtures" / name).write_text(text, encoding="utf-8")

    return damage


YAML_ERROR = r"^fixtures/talks\.yaml: not valid YAML: line \d+, column \d+: "

# Found by tests/test_fixture_fuzz.py: each was an unhandled exception (a traceback and
# exit 1), or reached the database and failed there, before the loader refused it.
FOUND_BY_FUZZING: dict[str, tuple[Callable[[Path], None], str]] = {
    "a key that is a list": (
        talk_member("    ? [a, b]\n    : x"),
        YAML_ERROR + r"a key must be text",
    ),
    "a key that is a number": (talk_member("    1: x"), YAML_ERROR + r"a key must be text, not 1$"),
    "nesting deeper than the stack": (
        venue("[" * 5000 + "]" * 5000),
        r"^fixtures/talks\.yaml: not valid YAML: nested too deeply$",
    ),
    "an impossible date": (
        talk_date("2026-02-30"),
        YAML_ERROR + r"cannot read '2026-02-30': day is out of range for month$",
    ),
    "a boolean YAML cannot read": (
        venue("!!bool maybe"),
        YAML_ERROR + r"cannot read 'maybe': not a bool$",
    ),
    "a date with a time": (
        talk_date("2026-02-03 10:11:12"),
        r"^fixtures/talks\.yaml: talks\[0\]\.date: Not a valid date\.$",
    ),
    "an integer of 5001 digits": (
        huge_number,
        r"^fixtures/force-proposals\.yaml: not valid YAML: line \d+, column \d+: an integer of 5001 digits$",
    ),
    "an alias": (
        talk_member("    precedent: &p x\n    format: *p"),
        YAML_ERROR + r"aliases \(\*p\) are not accepted here$",
    ),
    "a lone surrogate": (
        venue('"\\ud800"'),
        r"^fixtures/talks\.yaml: talks\[0\]\.venue: holds a lone surrogate, which is not Unicode text$",
    ),
    "a NUL character": (
        venue('"a\\0b"'),
        r"^fixtures/talks\.yaml: talks\[0\]\.venue: must not contain NUL characters$",
    ),
    "an empty dataset file": (
        emptied("dataset.yaml", "# nothing\n"),
        r"^fixtures/dataset\.yaml: is empty$",
    ),
    "an empty collection file": (
        emptied("statements.yaml", ""),
        r"^fixtures/statements\.yaml: is empty$",
    ),
}


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    **FOUND_BY_FUZZING,
    "malformed YAML": (
        break_yaml,
        r"^fixtures/talks\.yaml: not valid YAML: line \d+, column \d+: ",
    ),
    "missing field": (
        drop_required_field,
        r"^fixtures/talks\.yaml: talks\[0\]\.title: Missing data for required field\.$",
    ),
    "unknown field": (
        drop_required_field,
        r"^fixtures/talks\.yaml: talks\[0\]\.heading: Unknown field\.$",
    ),
    "mistyped field": (
        mistype_a_number,
        r"^fixtures/force-proposals\.yaml: force-proposals\[0\]\.troops_min: Not a valid integer\.$",
    ),
    "unknown reference": (
        misspell_a_reference,
        r"^fixtures/talks\.yaml: talks\[0\]\.delegations\[1\]: unknown delegation 'rusia'$",
    ),
    "duplicate id": (
        duplicate_an_id,
        r"^fixtures/actors\.yaml: actors\[1\]\.id: duplicate id 'russia' \(first at actors\[0\]\)$",
    ),
    "duplicate key": (
        duplicate_a_key,
        r"^fixtures/talks\.yaml: not valid YAML: .*duplicate key 'venue'",
    ),
    "quote not in the seed": (
        quote_not_in_the_seed,
        r"^fixtures/talks\.yaml: talks\[0\]\.citations\[0\]\.quote: not found in source 'istanbul-talks-analysis'$",
    ),
    "ambiguous quote": (
        ambiguous_quote,
        r"^fixtures/obstacles\.yaml: obstacles\[4\]\.citations\[\d+\]\.quote: ambiguous: occurs 2 times in "
        + re.escape(SEED)
        + r" \(at \d+, 2301\); give its start$",
    ),
    "wrong start": (
        quote_at_the_wrong_start,
        r"^fixtures/obstacles\.yaml: obstacles\[4\]\.citations\[\d+\]\.start: the quote is not at 2300",
    ),
    "unknown source": (
        unknown_source,
        r"^fixtures/talks\.yaml: talks\[0\]\.citations\[0\]\.source: unknown source 'istanbul-analysis'$",
    ),
    "changed seed": (
        change_the_seed,
        r"^seeds/" + re.escape(SEED) + r": sha256 is [0-9a-f]{64}, but manifest\.yaml says ",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_fixture_is_named_exits_3_and_writes_nothing(
    case: str, fixture_copy: Path, loaded_app: Flask
):
    damage, expected = CASES[case]
    damage(fixture_copy)
    engine = parley(loaded_app).engine
    before = fingerprint(engine)

    result = CliRunner().invoke(
        main,
        ["load", "--fixtures", "fixtures", "--seeds", "seeds"],
        env={"DATABASE_URL": parley(loaded_app).database_url},
    )

    assert result.exit_code == EXIT_FIXTURES, result.output
    lines = result.stderr.splitlines()
    assert any(re.search(expected, line) for line in lines), lines
    assert lines[-1].endswith("nothing was written")
    assert "Traceback" not in result.output
    assert fingerprint(engine) == before


def test_check_reports_the_same_problems_without_a_database(fixture_copy: Path, tmp_path: Path):
    misspell_a_reference(fixture_copy)
    result = CliRunner().invoke(
        main,
        ["check", "--fixtures", "fixtures", "--seeds", "seeds"],
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'never-created.sqlite3'}"},
    )
    assert result.exit_code == EXIT_FIXTURES
    assert "talks[0].delegations[1]: unknown delegation 'rusia'" in result.stderr
    assert not (tmp_path / "never-created.sqlite3").exists()


def test_an_invalid_record_is_reported_once_not_again_by_every_reference_to_it(
    fixture_copy: Path,
):
    edit(
        fixture_copy / "fixtures/actors.yaml",
        '  - id: russia\n    name: "Russia"\n',
        "  - id: russia\n",
    )
    result = CliRunner().invoke(main, ["check", "--fixtures", "fixtures", "--seeds", "seeds"])
    assert result.exit_code == EXIT_FIXTURES
    problems = result.stderr.splitlines()[:-1]
    assert problems == ["fixtures/actors.yaml: actors[0].name: Missing data for required field."]
