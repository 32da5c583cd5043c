"""Every hypothesis test runs under the loaded profile (`ci` by default: no deadline, so
that a loaded 2-core machine cannot fail a slow example, and derandomized) and from the
run's seed (FUZZ_SEED, a fixed one in `make test`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from hypothesis import settings

from tests.fuzzing import fuzz_seed
from tests.test_stateful_fuzz import round_settings

TESTS = Path(__file__).resolve().parent


def hypothesis_tests() -> dict[str, Any]:
    """Every hypothesis test function of the suite, by name."""
    found = {}
    for path in sorted(TESTS.glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, value in vars(module).items():
            if name.startswith("test_") and getattr(value, "is_hypothesis_test", False):
                found[f"{path.stem}::{name}"] = value
    return found


def decorated(test: Any, attribute: str) -> Any:
    """What @settings or @seed put on ``test`` (schemathesis keeps it on the inner test)."""
    value = getattr(test, attribute, None)
    return value if value is not None else getattr(test.hypothesis.inner_test, attribute)


def loaded_profile() -> settings:
    profile = settings.default
    assert profile is not None
    return profile


def test_every_hypothesis_test_uses_the_profile_and_the_run_seed():
    profile = loaded_profile()
    tests = hypothesis_tests()
    assert {name.split("::")[0] for name in tests} >= {"test_schemathesis", "test_fixture_fuzz"}
    for name, test in tests.items():
        used = decorated(test, "_hypothesis_internal_use_settings")
        assert (used.deadline, used.derandomize) == (profile.deadline, profile.derandomize), name
        assert decorated(test, "_hypothesis_internal_use_seed") == fuzz_seed(), name


def test_the_state_machine_uses_the_profile():
    used, profile = round_settings(), loaded_profile()
    assert (used.deadline, used.derandomize) == (profile.deadline, profile.derandomize)


def test_the_ci_profile_has_no_deadline_and_is_derandomized():
    ci = settings.get_profile("ci")
    assert ci.deadline is None
    assert ci.derandomize
