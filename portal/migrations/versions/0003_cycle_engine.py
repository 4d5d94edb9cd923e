"""cycle engine: suspensions, notices, daily runs, deaths, payments

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:11:02.025467
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daily_runs',
    sa.Column('run_on', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended', sa.Integer(), nullable=False),
    sa.Column('reminded', sa.Integer(), nullable=False),
    sa.Column('texts', sa.Integer(), nullable=False),
    sa.Column('tasks', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('run_on', name=op.f('pk_daily_runs'))
    )
    op.create_table('cycle_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('cycle_start', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_cycle_notices_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_notices')),
    sa.UniqueConstraint('pensioner_id', 'cycle_start', 'kind', name='uq_cycle_notices_once_per_cycle')
    )
    with op.batch_alter_table('cycle_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_notices_sent_on'), ['sent_on'], unique=False)

    op.create_table('death_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('died_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_death_records_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_death_records')),
    sa.UniqueConstraint('pensioner_id', name=op.f('uq_death_records_pensioner_id'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('regular', 'back_pay', 'withheld', name='paymentkind', native_enum=False, length=16), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('for_month', sa.Date(), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_payments_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('pensioner_id', 'for_month', 'kind', name='uq_payments_one_row_per_kind')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('uq_payments_paid_once', ['pensioner_id', 'for_month'], unique=True, sqlite_where=sa.text("kind <> 'withheld'"), postgresql_where=sa.text("kind <> 'withheld'"))

    op.create_table('suspensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('suspended_on', sa.Date(), nullable=False),
    sa.Column('resumed_on', sa.Date(), nullable=True),
    sa.Column('resume_from', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_suspensions_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspensions')),
    sa.UniqueConstraint('pensioner_id', 'suspended_on', name='uq_suspensions_pensioner_day')
    )
    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suspensions_resume_from'), ['resume_from'], unique=False)

    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Enum('home_visit', 'counter', 'video', 'other', name='offlinechannel', native_enum=False, length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_column('channel')

    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspensions_resume_from'))

    op.drop_table('suspensions')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_paid_once', sqlite_where=sa.text("kind <> 'withheld'"), postgresql_where=sa.text("kind <> 'withheld'"))

    op.drop_table('payments')
    op.drop_table('death_records')
    with op.batch_alter_table('cycle_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_notices_sent_on'))

    op.drop_table('cycle_notices')
    op.drop_table('daily_runs')
