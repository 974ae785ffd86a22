"""pinned DMN imports: an importing file keeps the imported versions it was deployed with

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 12:10:00

``definitions.imports`` holds, for a DMN file that ``<import>``s other models, the deployed
version of each imported namespace it was deployed with (namespace -> id, key, version);
NULL for every other definition. A DMN file of business knowledge models and item
definitions alone is stored as kind ``library`` keyed by its namespace: no schema change.
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.add_column(sa.Column('imports', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.drop_column('imports')
