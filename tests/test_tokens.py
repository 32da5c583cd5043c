"""API tokens: shown once, stored only as a hash, listed without secrets, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from api import parley, tokens
from api.cli import main
from api.lifecycle import prepare_database
from api.models import ApiToken
from tests.conftest import make_app

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_created_token_authenticates_as_its_name(db_session):
    token = tokens.create(db_session, "editor", NOW, None)
    assert token.startswith(tokens.PREFIX)
    assert tokens.authenticate(db_session, token, NOW) == "editor"


def test_only_the_hash_of_a_token_is_stored(db_session):
    token = tokens.create(db_session, "editor", NOW, None)
    stored = db_session.execute(text("SELECT * FROM api_tokens")).all()
    assert token not in repr(stored)
    assert db_session.scalar(select(ApiToken.token_hash)) == tokens.digest(token)


@pytest.mark.parametrize(
    "presented",
    ["", "parley_", "parley_wrong", "Bearer x", "parley_" + "a" * 500, "not-a-token"],
)
def test_a_wrong_token_authenticates_as_nobody(db_session, presented):
    tokens.create(db_session, "editor", NOW, None)
    assert tokens.authenticate(db_session, presented, NOW) is None


def test_a_revoked_token_authenticates_as_nobody(db_session):
    token = tokens.create(db_session, "editor", NOW, None)
    tokens.revoke(db_session, "editor", NOW)
    assert tokens.authenticate(db_session, token, NOW) is None
    assert tokens.list_tokens(db_session)[0].state(NOW) == "revoked"


def test_an_expired_token_authenticates_as_nobody(db_session):
    token = tokens.create(db_session, "editor", NOW, timedelta(days=1))
    assert tokens.authenticate(db_session, token, NOW + timedelta(hours=23)) == "editor"
    assert tokens.authenticate(db_session, token, NOW + timedelta(days=1)) is None


def test_names_are_unique(db_session):
    tokens.create(db_session, "editor", NOW, None)
    with pytest.raises(tokens.TokenError, match="exists already"):
        tokens.create(db_session, "editor", NOW, None)


def test_revoking_an_unknown_name_is_an_error(db_session):
    with pytest.raises(tokens.TokenError, match="no token named"):
        tokens.revoke(db_session, "nobody", NOW)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'tokens.sqlite3'}"
    prepare_database(make_app(url, tmp_path))
    return {"DATABASE_URL": url, "PARLEY_INSTANCE_PATH": str(tmp_path)}


def test_the_cli_prints_a_token_once_and_lists_it_without_secrets(cli_env):
    runner = CliRunner()
    created = runner.invoke(
        main, ["tokens", "create", "--name", "editor", "--expires", "30"], env=cli_env
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith(tokens.PREFIX)
    listed = runner.invoke(main, ["tokens", "list"], env=cli_env)
    assert listed.exit_code == 0
    assert listed.stdout.startswith("editor\tactive\t")
    assert token not in listed.output
    assert tokens.digest(token) not in listed.output
    app = make_app(cli_env["DATABASE_URL"], Path(cli_env["PARLEY_INSTANCE_PATH"]))
    with parley(app).sessions() as session:
        assert tokens.authenticate(session, token, datetime.now(UTC)) == "editor"


def test_the_cli_revokes_and_refuses_a_taken_name(cli_env):
    runner = CliRunner()
    runner.invoke(main, ["tokens", "create", "--name", "editor"], env=cli_env)
    again = runner.invoke(main, ["tokens", "create", "--name", "editor"], env=cli_env)
    assert again.exit_code == 2
    assert "exists already" in again.output
    revoked = runner.invoke(main, ["tokens", "revoke", "editor"], env=cli_env)
    assert revoked.exit_code == 0
    listed = runner.invoke(main, ["tokens", "list"], env=cli_env)
    assert listed.stdout.startswith("editor\trevoked\t")
    assert runner.invoke(main, ["tokens", "revoke", "nobody"], env=cli_env).exit_code == 2
