"""certifications ledger and sms outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:04:11.295536
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gateway_reference', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages'))
    )
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_messages_phone'), ['phone'], unique=False)

    op.create_table('certifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('certified_on', sa.Date(), nullable=False),
    sa.Column('method', sa.Enum('self', 'other', 'review', 'offline', 'data', name='certificationmethod', native_enum=False, length=16), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_certifications_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certifications'))
    )
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.create_index('ix_certifications_pensioner_certified_on', ['pensioner_id', 'certified_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_index('ix_certifications_pensioner_certified_on')

    op.drop_table('certifications')
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_messages_phone'))
        batch_op.drop_index(batch_op.f('ix_sms_messages_created_at'))

    op.drop_table('sms_messages')
