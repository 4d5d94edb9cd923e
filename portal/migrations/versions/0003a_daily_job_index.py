"""daily job index on pensioners by status and cycle start

Revision ID: 0003a
Revises: 0003
Create Date: 2026-12-04 16:44:39.399719
"""

from alembic import op
import sqlalchemy as sa


revision = '0003a'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pensioners', schema=None) as batch_op:
        batch_op.create_index('ix_pensioners_status_cycle_start', ['status', 'cycle_start'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pensioners', schema=None) as batch_op:
        batch_op.drop_index('ix_pensioners_status_cycle_start')

