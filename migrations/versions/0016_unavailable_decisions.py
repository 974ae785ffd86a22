"""unavailable decisions: a DMN file deploys the decisions that compile, the others say why

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-03 11:00:00

``definitions.unavailable_reason`` holds, for a decision of a deployed file that cannot be
evaluated (a cell that is not FEEL, an unsupported construct, a required decision that is
itself unavailable), the reason; NULL for every decision that can be evaluated and for
every process.
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.add_column(sa.Column('unavailable_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.drop_column('unavailable_reason')
