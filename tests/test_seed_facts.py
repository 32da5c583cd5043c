"""The seed's facts, written down by hand from the seed text, checked through the models.

This table is deliberately not derived from the fixtures: it is what a reader
of the seed expects to find, so a fixture that drifts from the seed fails here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Actor, Delegation, ForceProposal, Obstacle, Statement, Talk

TROOPS_PROPOSED = (10_000, 40_000)
TROOPS_NEEDED = 250_000
RELUCTANT_STATES = {"Germany", "Italy", "Spain", "Poland"}
PROPOSING_STATES = {"UK", "France"}
OBSTACLE_HOLDERS = {
    "Security Guarantees": {"Ukraine"},
    "NATO Membership": {"Russia"},
    "Military Presence": {"Russia"},
    "Cease-fire": {"Ukraine"},
    # "Both sides have domestic constituencies that are skeptical of compromise"
    "Political Will": {"Russia", "Ukraine"},
}
PERSONS = {
    # name: (title, state)
    "Vladimir Putin": ("President", "Russia"),
    "Volodymyr Zelenskiy": ("President", "Ukraine"),
    "Trump": ("President", "United States"),
    "Rubio": ("Secretary of State", "United States"),
}
QUOTED_WORDS = {"decorative": "Volodymyr Zelenskiy", "political theatre": "Critics"}
UNNAMED_GROUPS = {"U.S. officials", "Critics", "Analysts"}


def actor_names(actors: list[Actor]) -> set[str]:
    return {actor.name for actor in actors}


def the_talk(session: Session) -> Talk:
    return session.scalars(select(Talk).where(Talk.venue == "Istanbul")).one()


def test_talks_take_place_in_istanbul_on_friday_without_an_invented_date(db_session):
    talk = the_talk(db_session)
    assert talk.timing == "Friday"
    assert talk.date is None
    assert actor_names(talk.parties) == {"Russia", "Ukraine"}


def test_talks_are_the_first_direct_ones_since_march_2022(db_session):
    assert "March 2022" in (the_talk(db_session).precedent or "")


def test_the_force_proposal_states_its_troop_figures_as_integers(db_session):
    proposal = db_session.scalars(select(ForceProposal)).one()
    assert (proposal.troops_min, proposal.troops_max) == TROOPS_PROPOSED
    assert proposal.troops_needed == TROOPS_NEEDED


def test_four_states_are_reluctant_to_commit_troops(db_session):
    proposal = db_session.scalars(select(ForceProposal)).one()
    assert actor_names(proposal.reluctant) == RELUCTANT_STATES
    assert all(actor.kind == "state" for actor in proposal.reluctant)


def test_the_uk_and_france_propose_the_force(db_session):
    proposal = db_session.scalars(select(ForceProposal)).one()
    assert actor_names(proposal.proposers) >= PROPOSING_STATES


def test_each_obstacle_is_held_by_the_party_the_seed_names_and_no_other(db_session):
    obstacles = db_session.scalars(select(Obstacle)).all()
    holders = {o.title: {p.holder.name for p in o.positions} for o in obstacles}
    assert holders == OBSTACLE_HOLDERS


def test_named_persons_carry_their_titles_and_states(db_session):
    persons = db_session.scalars(select(Actor).where(Actor.kind == "person")).all()
    found = {p.name: (p.title, p.affiliation.name if p.affiliation else None) for p in persons}
    assert found == PERSONS


def test_ukraines_defence_minister_heads_its_delegation_without_a_name(db_session):
    talk = the_talk(db_session)
    ukraine = next(d for d in talk.delegations if d.party.name == "Ukraine")
    assert ukraine.head is not None
    assert ukraine.head.kind == "role"
    assert "defense minister" in ukraine.head.name
    assert ukraine.head.affiliation is not None
    assert ukraine.head.affiliation.name == "Ukraine"


def test_putin_declined_to_attend_and_russia_sent_a_lower_level_delegation(db_session):
    russia = db_session.scalars(
        select(Delegation).join(Delegation.party).where(Actor.name == "Russia")
    ).one()
    assert actor_names(russia.declined) == {"Vladimir Putin"}
    assert russia.head is None  # the seed names no head of Russia's delegation
    assert "second-tier" in (russia.level or "")


def test_quoted_words_are_attributed_to_their_speakers(db_session):
    for words, speaker in QUOTED_WORDS.items():
        statements = db_session.scalars(select(Statement).where(Statement.quoted == words)).all()
        assert statements, words
        assert {s.speaker.name for s in statements if s.speaker} == {speaker}


def test_unnamed_groups_are_actors_of_kind_group(db_session):
    groups = db_session.scalars(select(Actor).where(Actor.kind == "group")).all()
    assert actor_names(groups) >= UNNAMED_GROUPS


def test_the_seeds_inconsistencies_are_noted_on_the_records(db_session):
    talk = the_talk(db_session)
    assert "defense ministers" in (talk.notes or "")
    officials = db_session.scalars(
        select(Statement).where(Statement.text.contains("S. officials"))
    ).all()
    assert any("U.S." in (s.notes or "") for s in officials)
