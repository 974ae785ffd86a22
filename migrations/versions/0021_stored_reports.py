"""stored reports: every generated report, its period, who started it, and its files

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 12:10:00

A report's files are kept in the database beside it (size-limited), so that a report and its
files are written in one transaction and removed together by the history cleanup.
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reports',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('kind', sa.String(40), nullable=False),
        sa.Column('title', sa.String(300), nullable=False),
        sa.Column('period_from', sa.DateTime(), nullable=True),
        sa.Column('period_to', sa.DateTime(), nullable=True),
        sa.Column('started_by', sa.String(200), nullable=False),
        sa.Column('instance_id', sa.String(36), nullable=True),
        sa.Column('source_key', sa.String(300), nullable=True),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('source_key', name='uq_reports_source_key'),
    )
    op.create_index('ix_reports_kind_created', 'reports', ['kind', 'created_at'])
    op.create_index('ix_reports_created_at', 'reports', ['created_at'])
    op.create_index('ix_reports_instance_id', 'reports', ['instance_id'])
    op.create_table(
        'report_files',
        sa.Column('report_id', sa.String(36),
                  sa.ForeignKey('reports.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('name', sa.String(200), primary_key=True),
        sa.Column('media_type', sa.String(120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('report_files')
    op.drop_index('ix_reports_instance_id', 'reports')
    op.drop_index('ix_reports_created_at', 'reports')
    op.drop_index('ix_reports_kind_created', 'reports')
    op.drop_table('reports')
