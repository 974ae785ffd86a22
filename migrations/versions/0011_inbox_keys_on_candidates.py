"""the inbox reads one index: each candidate row carries its task's keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:00:00

``task_candidates`` rows carry a copy of their task's ``process_key``, ``assignee``,
``due_at``, ``priority`` and ``created_at``, and ``is_open`` follows the task's status, so
that a person's inbox (its counts, its filters and its page) is one index-only scan of the
open rows of their groups instead of one probe into ``human_tasks`` per visible task.
Triggers keep the copies in step with the task row: a row is filled from its task when it
is inserted, and every change of the task's status, assignee, due date or priority is
written through to its rows in the same statement, so no write path sends a statement more.
A partial index over the open tasks in process order lets an admin's inbox count them by
process, assignee and due date from the index alone.
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COPIED = ('process_key', 'assignee', 'due_at', 'priority', 'created_at')
OPEN = "('ready', 'claimed')"
OPEN_TASKS = f"status IN {OPEN}"

PG_FUNCTIONS = f"""
CREATE FUNCTION bf_candidate_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT t.process_key, t.assignee, t.due_at, t.priority, t.created_at,
         t.status IN {OPEN}
    INTO NEW.process_key, NEW.assignee, NEW.due_at, NEW.priority, NEW.created_at, NEW.is_open
    FROM human_tasks t WHERE t.id = NEW.task_id;
  RETURN NEW;
END $$;
CREATE FUNCTION bf_task_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE task_candidates SET is_open = NEW.status IN {OPEN}, assignee = NEW.assignee,
         due_at = NEW.due_at, priority = NEW.priority
   WHERE task_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER bf_candidate_keys BEFORE INSERT ON task_candidates
  FOR EACH ROW EXECUTE FUNCTION bf_candidate_keys();
CREATE TRIGGER bf_task_keys_changed AFTER UPDATE OF status, assignee, due_at, priority
  ON human_tasks FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee IS DISTINCT FROM NEW.assignee
        OR OLD.due_at IS DISTINCT FROM NEW.due_at OR OLD.priority IS DISTINCT FROM NEW.priority)
  EXECUTE FUNCTION bf_task_keys_changed();
"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER bf_candidate_keys AFTER INSERT ON task_candidates FOR EACH ROW
    BEGIN
      UPDATE task_candidates SET
        (process_key, assignee, due_at, priority, created_at, is_open) =
        (SELECT t.process_key, t.assignee, t.due_at, t.priority, t.created_at,
                t.status IN {OPEN} FROM human_tasks t WHERE t.id = NEW.task_id)
      WHERE rowid = NEW.rowid;
    END""",
    f"""CREATE TRIGGER bf_task_keys_changed AFTER UPDATE OF status, assignee, due_at, priority
    ON human_tasks FOR EACH ROW
    WHEN OLD.status IS NOT NEW.status OR OLD.assignee IS NOT NEW.assignee
         OR OLD.due_at IS NOT NEW.due_at OR OLD.priority IS NOT NEW.priority
    BEGIN
      UPDATE task_candidates SET is_open = NEW.status IN {OPEN}, assignee = NEW.assignee,
             due_at = NEW.due_at, priority = NEW.priority
       WHERE task_id = NEW.id;
    END""",
)

KEYS = ['kind', 'name', 'due_at', 'created_at', 'task_id', 'process_key', 'assignee',
        'priority']


def upgrade() -> None:
    with op.batch_alter_table('task_candidates') as batch:
        batch.add_column(sa.Column('process_key', sa.String(200)))
        batch.add_column(sa.Column('assignee', sa.String(200)))
        batch.add_column(sa.Column('due_at', sa.DateTime()))
        batch.add_column(sa.Column('priority', sa.Integer()))
        batch.add_column(sa.Column('created_at', sa.DateTime()))
    copied = ', '.join(COPIED)
    picked = ', '.join(f't.{c}' for c in COPIED)
    op.execute(f"UPDATE task_candidates SET ({copied}, is_open) = (SELECT {picked},"
               f" t.status IN {OPEN} FROM human_tasks t WHERE t.id = task_candidates.task_id)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTIONS)
    else:
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)
    op.drop_index('ix_task_candidates_open', table_name='task_candidates')
    op.create_index('ix_task_candidates_open_keys', 'task_candidates', KEYS,
                    postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
    op.create_index('ix_human_tasks_open_counts', 'human_tasks',
                    ['process_key', 'assignee', 'due_at'], postgresql_where=sa.text(OPEN_TASKS),
                    sqlite_where=sa.text(OPEN_TASKS))


def downgrade() -> None:
    op.drop_index('ix_human_tasks_open_counts', table_name='human_tasks')
    op.drop_index('ix_task_candidates_open_keys', table_name='task_candidates')
    op.create_index('ix_task_candidates_open', 'task_candidates', ['kind', 'name', 'task_id'],
                    postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER bf_task_keys_changed ON human_tasks")
        op.execute("DROP TRIGGER bf_candidate_keys ON task_candidates")
        op.execute("DROP FUNCTION bf_task_keys_changed()")
        op.execute("DROP FUNCTION bf_candidate_keys()")
    else:
        op.execute("DROP TRIGGER bf_task_keys_changed")
        op.execute("DROP TRIGGER bf_candidate_keys")
    with op.batch_alter_table('task_candidates') as batch:
        for column in reversed(COPIED):
            batch.drop_column(column)
