"""Appending an event: the payload and hash Caseview stores, on a case file and on a
server (where the database numbers, links and hashes the event itself), and the events
that go with no other change (``audit.record_alone``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseview import audit
from caseview.session import Session
from caseview.storage.audit import with_seq
from caseview.storage.schema import GENESIS_HASH

pytestmark = pytest.mark.both_engines

EVENT: dict[str, Any] = {
    "actor": "mona",
    "action": "export.pdf",
    "entity": "case",
    "entity_id": 7,
    "case_id": None,
    "data": {"subject": "Zoë Дмитриева", "quote": 'she said "no"\n', "n": [1, 2.5, None]},
}


def stored(session: Session) -> list[tuple[int, str, str, str]]:
    rows = session.casefile.conn.execute(
        "SELECT seq, payload, prev_hash, hash FROM audit_log ORDER BY seq"
    ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def test_an_event_is_stored_as_canonical_json_with_its_seq_last_and_chained(
    manager: Session,
) -> None:
    with manager.casefile.write() as conn:
        made = audit.record(conn, at=manager.now(), **EVENT)
    alone = audit.record_alone(manager.casefile, at=manager.now(), **EVENT)
    rows = stored(manager)
    prev = GENESIS_HASH
    for seq, payload, prev_hash, digest in rows:
        assert prev_hash == prev
        assert digest == audit.chain_hash(prev_hash, payload)
        assert payload == audit.canonical_json(json.loads(payload))
        assert json.loads(payload)["seq"] == seq
        prev = digest
    assert [(made.seq, made.hash), (alone.seq, alone.hash)] == [(r[0], r[3]) for r in rows[-2:]]
    assert json.loads(rows[-1][1]) == {
        **EVENT,
        "at": json.loads(rows[-1][1])["at"],
        "seq": alone.seq,
    }
    assert audit.verify(manager).intact


def test_an_event_alone_inside_a_write_is_part_of_that_write(manager: Session) -> None:
    before = stored(manager)
    with pytest.raises(RuntimeError, match="changed my mind"), manager.casefile.write():
        audit.record_alone(manager.casefile, at=manager.now(), **EVENT)
        raise RuntimeError("changed my mind")
    assert stored(manager) == before


def test_an_event_alone_outside_a_write_is_kept_at_once(manager: Session) -> None:
    event = audit.record_alone(manager.casefile, at=manager.now(), **EVENT)
    assert not manager.casefile.conn.in_transaction
    assert stored(manager)[-1][0] == event.seq


def test_record_still_needs_the_changes_write(manager: Session) -> None:
    with pytest.raises(RuntimeError, match="inside the change's write transaction"):
        audit.record(manager.casefile.conn, at=manager.now(), **EVENT)


# Keys of an event's body all sort before "seq": those record() sends, and any other
# such key, with any values.
_KEYS = st.text(alphabet="abcdefghijklmnopqr_", min_size=1, max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(body=st.dictionaries(_KEYS, _VALUES, max_size=6), seq=st.integers(1, 2**62))
def test_with_seq_is_the_canonical_json_of_the_event_with_its_seq(
    body: dict[str, Any], seq: int
) -> None:
    assert with_seq(audit.canonical_json(body), seq) == audit.canonical_json({**body, "seq": seq})


@pytest.mark.parametrize("body", ["[]", "", '"text"', "{} "])
def test_with_seq_takes_only_an_object(body: str) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        with_seq(body, 1)
