"""scoped credentials: API keys get scopes, an expiry and an owner; sessions a version

Keys made before this version are service accounts with every scope except ``admin`` and
``deploy``: they keep starting processes, sending messages and working tasks, but changing
what runs (deployments) and repairing instances (admin) must be granted on purpose
(``bridgeflow api-keys create … --scope admin``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

EXISTING_KEY_SCOPES = '["processes:start", "messages:send", "webhooks", "tasks:read", "tasks:act"]'


def upgrade() -> None:
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('scopes', sa.JSON(), nullable=False,
                                   server_default=sa.text(f"'{EXISTING_KEY_SCOPES}'")))
        batch.add_column(sa.Column('user_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('rotated_at', sa.DateTime(), nullable=True))
        batch.create_index('ix_api_keys_user_id', ['user_id'])
        batch.create_foreign_key('fk_api_keys_user_id', 'users', ['user_id'], ['id'])
    with op.batch_alter_table('api_keys') as batch:
        batch.alter_column('scopes', server_default=None)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_version')
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_constraint('fk_api_keys_user_id', type_='foreignkey')
        batch.drop_index('ix_api_keys_user_id')
        batch.drop_column('rotated_at')
        batch.drop_column('expires_at')
        batch.drop_column('user_id')
        batch.drop_column('scopes')
