"""signal subscriptions: a subscription waits for a message or for a signal

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 00:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message_subscriptions') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), server_default='message',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('message_subscriptions') as batch:
        batch.drop_column('kind')
