"""account verification codes, family members and password lockout

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04 16:12:07.340002
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('purpose', sa.Enum('register', 'sign_in', 'reset_password', name='codepurpose', native_enum=False, length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_codes'))
    )
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.create_index('ix_verification_codes_phone_created_at', ['phone', 'created_at'], unique=False)

    op.create_table('family_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_family_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_family_members_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_members')),
    sa.UniqueConstraint('account_id', 'pensioner_id', name='uq_family_members_account_pensioner')
    )
    with op.batch_alter_table('family_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_members_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_password_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('password_locked_until', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('password_locked_until')
        batch_op.drop_column('failed_password_attempts')

    with op.batch_alter_table('family_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_members_account_id'))

    op.drop_table('family_members')
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_codes_phone_created_at')

    op.drop_table('verification_codes')
