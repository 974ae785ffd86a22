"""the audit trail by month: ``events`` range-partitioned on ``created_at`` (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:00:00

On PostgreSQL the events table becomes a partitioned table with one partition per calendar
month (``events_y2026m12``…) and a default partition for anything outside them, so the
history time-to-live cleanup can drop a month whose events have all expired instead of
deleting its rows one by one, and the month being written stays small (engine/partitions.py
keeps months made ahead). The rows already stored are copied over with their ids, and the id
sequence carries on. The primary key becomes (id, created_at), as PostgreSQL requires the
partition key in it; ids stay unique, drawn from the one sequence. SQLite has no
partitioning: there the table is left as it is (a dev/demo database stays small).
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3  # as engine/partitions.py makes at each cleanup run
INDEXES = (
    ('ix_events_created_at', ['created_at']),
    ('ix_events_instance_id', ['instance_id']),
    ('ix_events_type_created', ['type', 'created_at']),
    ('ix_events_instance_id_id', ['instance_id', 'id']),
)
COLUMNS = "id, instance_id, type, element_id, actor, data, created_at"


def _month(d: datetime) -> datetime:
    return datetime(d.year, d.month, 1)


def _next(d: datetime) -> datetime:
    return datetime(d.year + d.month // 12, d.month % 12 + 1, 1)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey"
               " TO events_unpartitioned_pkey")
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("""
        CREATE TABLE events (
            id BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
            instance_id VARCHAR(36),
            type VARCHAR(48) NOT NULL,
            element_id VARCHAR(200),
            actor VARCHAR(200),
            data JSON NOT NULL,
            created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
            CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
        ) PARTITION BY RANGE (created_at)""")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    oldest = bind.execute(sa.text("SELECT min(created_at) FROM events_unpartitioned")).scalar()
    now = datetime.now(UTC).replace(tzinfo=None)
    month = _month(min(oldest, now) if oldest else now)
    last = _month(now)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    while month <= last:
        op.execute(f"CREATE TABLE events_y{month:%Y}m{month:%m} PARTITION OF events FOR VALUES"
                   f" FROM ('{month:%Y-%m-%d}') TO ('{_next(month):%Y-%m-%d}')")
        month = _next(month)
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_unpartitioned")
    op.execute("DROP TABLE events_unpartitioned")
    for name, columns in INDEXES:
        op.create_index(name, 'events', columns)
    op.execute("ANALYZE events")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER TABLE events_partitioned RENAME CONSTRAINT events_pkey"
               " TO events_partitioned_pkey")
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("""
        CREATE TABLE events (
            id BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
            instance_id VARCHAR(36),
            type VARCHAR(48) NOT NULL,
            element_id VARCHAR(200),
            actor VARCHAR(200),
            data JSON NOT NULL,
            created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
            CONSTRAINT events_pkey PRIMARY KEY (id)
        )""")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_partitioned")
    op.execute("DROP TABLE events_partitioned")  # takes its partitions with it
    for name, columns in INDEXES:
        op.create_index(name, 'events', columns)
