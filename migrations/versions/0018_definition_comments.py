"""definition comments: what an analyst wrote when deploying a version

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-03 11:15:00

Every version keeps its author and time already; ``comment`` adds the analyst's words, shown
beside the version in the console and the API.
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.add_column(sa.Column('comment', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.drop_column('comment')
