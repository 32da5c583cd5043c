"""Baseline schema: every resource, link tables, citations, revisions and meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:07:33.408294
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "actors",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("affiliation_id", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["affiliation_id"], ["actors.id"], name=op.f("fk_actors_affiliation_id_actors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
    )
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_actors_affiliation_id"), ["affiliation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_actors_kind"), ["kind"], unique=False)

    op.create_table(
        "force_proposals",
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("contributors", sa.Text(), nullable=True),
        sa.Column("troops_min", sa.Integer(), nullable=True),
        sa.Column("troops_max", sa.Integer(), nullable=True),
        sa.Column("troops_needed", sa.Integer(), nullable=True),
        sa.Column("troops_needed_text", sa.Text(), nullable=True),
        sa.Column("deployment_area", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("risks", sa.JSON(), nullable=False),
        sa.Column("motives", sa.JSON(), nullable=False),
        sa.Column("criticisms", sa.JSON(), nullable=False),
        sa.Column("preconditions", sa.JSON(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_force_proposals")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "obstacles",
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obstacles")),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("resource", "record_id", "revision", name="uq_revisions_record"),
    )
    op.create_table(
        "sources",
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("alternate_headline", sa.Text(), nullable=True),
        sa.Column("seed_file", sa.String(length=200), nullable=False),
        sa.Column("line_start", sa.Integer(), nullable=False),
        sa.Column("line_end", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "talks",
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=True),
        sa.Column("timing", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("format", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("precedent", sa.Text(), nullable=True),
        sa.Column("aims", sa.JSON(), nullable=False),
        sa.Column("expectations", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talks")),
    )
    with op.batch_alter_table("talks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talks_status"), ["status"], unique=False)

    op.create_table(
        "citations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_citations_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citations")),
        sa.UniqueConstraint("resource", "record_id", "position", name="uq_citations_record"),
    )
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citations_source_id"), ["source_id"], unique=False)

    op.create_table(
        "delegations",
        sa.Column("party_id", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("head_id", sa.String(length=100), nullable=True),
        sa.Column("head_description", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["head_id"], ["actors.id"], name=op.f("fk_delegations_head_id_actors")
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["actors.id"], name=op.f("fk_delegations_party_id_actors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegations_head_id"), ["head_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delegations_party_id"), ["party_id"], unique=False)

    op.create_table(
        "obstacle_positions",
        sa.Column("obstacle_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.String(length=100), nullable=False),
        sa.Column("stance", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["actors.id"], name=op.f("fk_obstacle_positions_holder_id_actors")
        ),
        sa.ForeignKeyConstraint(
            ["obstacle_id"],
            ["obstacles.id"],
            name=op.f("fk_obstacle_positions_obstacle_id_obstacles"),
        ),
        sa.PrimaryKeyConstraint("obstacle_id", "position", name=op.f("pk_obstacle_positions")),
    )
    with op.batch_alter_table("obstacle_positions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obstacle_positions_holder_id"), ["holder_id"], unique=False
        )

    op.create_table(
        "proposal_proposers",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["force_proposals.id"],
            name=op.f("fk_proposal_proposers_owner_id_force_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["actors.id"], name=op.f("fk_proposal_proposers_target_id_actors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_proposal_proposers")),
    )
    with op.batch_alter_table("proposal_proposers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_proposers_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "proposal_reluctant",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["force_proposals.id"],
            name=op.f("fk_proposal_reluctant_owner_id_force_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["actors.id"], name=op.f("fk_proposal_reluctant_target_id_actors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_proposal_reluctant")),
    )
    with op.batch_alter_table("proposal_reluctant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_reluctant_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "statements",
        sa.Column("speaker_id", sa.String(length=100), nullable=True),
        sa.Column("about_resource", sa.String(length=40), nullable=True),
        sa.Column("about_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("quoted", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["speaker_id"], ["actors.id"], name=op.f("fk_statements_speaker_id_actors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index("ix_statements_about", ["about_resource", "about_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_statements_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_statements_speaker_id"), ["speaker_id"], unique=False)

    op.create_table(
        "talk_obstacles",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["talks.id"], name=op.f("fk_talk_obstacles_owner_id_talks")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["obstacles.id"], name=op.f("fk_talk_obstacles_target_id_obstacles")
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_talk_obstacles")),
    )
    with op.batch_alter_table("talk_obstacles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_talk_obstacles_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "talk_parties",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["talks.id"], name=op.f("fk_talk_parties_owner_id_talks")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["actors.id"], name=op.f("fk_talk_parties_target_id_actors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_talk_parties")),
    )
    with op.batch_alter_table("talk_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talk_parties_target_id"), ["target_id"], unique=False)

    op.create_table(
        "delegation_declined",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["delegations.id"],
            name=op.f("fk_delegation_declined_owner_id_delegations"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["actors.id"], name=op.f("fk_delegation_declined_target_id_actors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_delegation_declined")),
    )
    with op.batch_alter_table("delegation_declined", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delegation_declined_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "talk_delegations",
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["talks.id"], name=op.f("fk_talk_delegations_owner_id_talks")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["delegations.id"],
            name=op.f("fk_talk_delegations_target_id_delegations"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "target_id", name=op.f("pk_talk_delegations")),
        sa.UniqueConstraint("target_id", name=op.f("uq_talk_delegations_target_id")),
    )


def downgrade() -> None:

    op.drop_table("talk_delegations")
    with op.batch_alter_table("delegation_declined", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_declined_target_id"))

    op.drop_table("delegation_declined")
    with op.batch_alter_table("talk_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talk_parties_target_id"))

    op.drop_table("talk_parties")
    with op.batch_alter_table("talk_obstacles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talk_obstacles_target_id"))

    op.drop_table("talk_obstacles")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_speaker_id"))
        batch_op.drop_index(batch_op.f("ix_statements_kind"))
        batch_op.drop_index("ix_statements_about")

    op.drop_table("statements")
    with op.batch_alter_table("proposal_reluctant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_reluctant_target_id"))

    op.drop_table("proposal_reluctant")
    with op.batch_alter_table("proposal_proposers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_proposers_target_id"))

    op.drop_table("proposal_proposers")
    with op.batch_alter_table("obstacle_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obstacle_positions_holder_id"))

    op.drop_table("obstacle_positions")
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegations_party_id"))
        batch_op.drop_index(batch_op.f("ix_delegations_head_id"))

    op.drop_table("delegations")
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citations_source_id"))

    op.drop_table("citations")
    with op.batch_alter_table("talks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_talks_status"))

    op.drop_table("talks")
    op.drop_table("sources")
    op.drop_table("revisions")
    op.drop_table("obstacles")
    op.drop_table("meta")
    op.drop_table("force_proposals")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actors_kind"))
        batch_op.drop_index(batch_op.f("ix_actors_affiliation_id"))

    op.drop_table("actors")
