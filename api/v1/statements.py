"""Statements: who said or judged what, about which record."""

from api.resources import STATEMENT_KINDS, STATEMENTS
from api.v1.collections import Collection, about, equals, ref_equals

COLLECTION = Collection(
    STATEMENTS,
    filters=(
        ref_equals(STATEMENTS, "speaker", "speaker_id", "Only statements by this actor."),
        about(STATEMENTS, "Only statements about this record, given as `<collection>/<id>`."),
        equals(STATEMENTS, "kind", "Only statements of this kind.", choices=STATEMENT_KINDS),
    ),
    search=("text", "quoted"),
    nested_under={
        "talks": ("about", "talks/{id}"),
        "actors": ("speaker", "{id}"),
        "delegations": ("about", "delegations/{id}"),
        "obstacles": ("about", "obstacles/{id}"),
        "force-proposals": ("about", "force-proposals/{id}"),
    },
)
