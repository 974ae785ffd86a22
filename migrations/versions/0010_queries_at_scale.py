"""queries that do not grow with history: task candidates as rows, indexes for every list

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00

``task_candidates`` holds one row per group or user a human task is offered to, so the
inbox asks the database which tasks a person may see; it is filled from the JSON columns
``candidate_groups`` / ``candidate_users`` of the tasks already stored (which stay, for
display). ``is_open`` rows (a partial index) are those of open tasks: the inbox reads only
them, so its cost follows the open tasks, not the history. The indexes serve the inbox's order, the REST filters, the instance lists and the
statistics over the audit trail. ``stat_counters`` / ``stat_marks`` keep running totals of
ended instances and service calls (engine/statistics.py), filled on first use.
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_human_tasks_process_key', 'human_tasks', ['process_key', 'status']),
    ('ix_human_tasks_business_key', 'human_tasks', ['business_key']),
    ('ix_instances_created', 'instances', ['created_at', 'id']),
    ('ix_instances_key_created', 'instances', ['process_key', 'created_at']),
    ('ix_instances_status_created', 'instances', ['status', 'created_at']),
    ('ix_instances_business_key_created', 'instances', ['business_key', 'created_at']),
    ('ix_events_type_created', 'events', ['type', 'created_at']),
    ('ix_events_instance_id_id', 'events', ['instance_id', 'id']),
    ('ix_definitions_key_kind_version', 'definitions', ['key', 'kind', 'version']),
)
OPEN_TASKS = "status IN ('ready', 'claimed')"
OPEN_TASK_INDEXES = (  # partial: only the open tasks, so they do not grow with history
    ('ix_human_tasks_open', ['id', 'process_key', 'assignee', 'due_at', 'priority',
                             'created_at']),
    ('ix_human_tasks_open_due', ['due_at', 'created_at', 'id']),
)
BACKFILL_CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        'task_candidates',
        sa.Column('task_id', sa.String(36),
                  sa.ForeignKey('human_tasks.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('kind', sa.String(8), primary_key=True),
        sa.Column('name', sa.String(200), primary_key=True),
        sa.Column('is_open', sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    _backfill()
    op.execute("UPDATE task_candidates SET is_open = false WHERE task_id IN (SELECT id FROM"
               " human_tasks WHERE status NOT IN ('ready', 'claimed'))")
    op.create_index('ix_task_candidates_name', 'task_candidates', ['kind', 'name', 'task_id'])
    op.create_index('ix_task_candidates_open', 'task_candidates', ['kind', 'name', 'task_id'],
                    postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
    op.create_table(
        'stat_counters',
        sa.Column('name', sa.String(32), primary_key=True),
        sa.Column('key', sa.String(200), primary_key=True),
        sa.Column('sub', sa.String(64), primary_key=True),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False),
    )
    op.create_table(
        'stat_marks',
        sa.Column('name', sa.String(32), primary_key=True),
        sa.Column('mark_at', sa.DateTime(), nullable=True),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, columns in OPEN_TASK_INDEXES:
        op.create_index(name, 'human_tasks', columns, postgresql_where=sa.text(OPEN_TASKS),
                        sqlite_where=sa.text(OPEN_TASKS))


def _backfill() -> None:
    """One candidate row per group and user named in each stored task's JSON columns."""
    bind = op.get_bind()
    tasks = sa.table('human_tasks', sa.column('id', sa.String), sa.column(
        'candidate_groups', sa.JSON), sa.column('candidate_users', sa.JSON))
    candidates = sa.table('task_candidates', sa.column('task_id', sa.String),
                          sa.column('kind', sa.String), sa.column('name', sa.String))
    last = ''
    while True:
        rows = bind.execute(sa.select(tasks.c.id, tasks.c.candidate_groups,
                                      tasks.c.candidate_users)
                            .where(tasks.c.id > last).order_by(tasks.c.id)
                            .limit(BACKFILL_CHUNK)).all()
        if not rows:
            return
        values = []
        for task_id, groups, users in rows:
            for kind, names in (('group', groups), ('user', users)):
                if isinstance(names, str):  # a driver that hands JSON back as text
                    names = json.loads(names)
                for name in dict.fromkeys(str(n) for n in names or [] if n):
                    values.append({'task_id': task_id, 'kind': kind, 'name': name[:200]})
        if values:
            bind.execute(candidates.insert(), values)
        last = rows[-1][0]


def downgrade() -> None:
    for name, _ in OPEN_TASK_INDEXES:
        op.drop_index(name, table_name='human_tasks')
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('stat_marks')
    op.drop_table('stat_counters')
    op.drop_index('ix_task_candidates_open', table_name='task_candidates')
    op.drop_index('ix_task_candidates_name', table_name='task_candidates')
    op.drop_table('task_candidates')
