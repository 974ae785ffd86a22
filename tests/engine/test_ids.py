"""Row ids are UUIDs version 7: valid UUID strings as before, made-later-sorts-later (so the
indexes keyed by id are written at their end), and unguessable."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from engine.models import new_id


def test_an_id_is_a_canonical_uuid_version_7() -> None:
    made = new_id()
    parsed = uuid.UUID(made)
    assert str(parsed) == made  # lower-case, hyphenated, 36 characters: fits every column
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_the_id_carries_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_id())
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after
    assert abs(datetime.fromtimestamp((made.int >> 80) / 1000, UTC) - datetime.now(UTC)).seconds < 5


def test_ids_made_later_sort_later() -> None:
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    assert first < second  # as strings, as the database compares them


def test_ids_do_not_repeat_and_their_random_part_varies() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    # within one millisecond the 74 random bits still differ: no counter anyone could guess
    random_parts = {uuid.UUID(i).int & ((1 << 62) - 1) for i in ids}
    assert len(random_parts) == len(ids)
