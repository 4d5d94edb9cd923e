"""face certification challenges, attempts, frames and review cases

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-04 16:23:01.340936
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certification_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('self', 'other', 'upload', 'review', 'offline', 'data', name='attemptmode', native_enum=False, length=16), nullable=False),
    sa.Column('steps', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_certification_challenges_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_certification_challenges_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_challenges')),
    sa.UniqueConstraint('nonce', name=op.f('uq_certification_challenges_nonce'))
    )
    with op.batch_alter_table('certification_challenges', schema=None) as batch_op:
        batch_op.create_index('ix_certification_challenges_pensioner_issued_at', ['pensioner_id', 'issued_at'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.Enum('self', 'other', 'upload', 'review', 'offline', 'data', name='attemptmode', native_enum=False, length=16), nullable=False),
    sa.Column('for_other', sa.Boolean(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.Enum('success', 'no_face', 'several_faces', 'too_small', 'liveness_failed', 'mismatch', 'review', 'rejected', 'error', name='attemptresult', native_enum=False, length=16), nullable=False),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('certification_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_attempts_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['certification_id'], ['certifications.id'], name=op.f('fk_attempts_certification_id_certifications')),
    sa.ForeignKeyConstraint(['challenge_id'], ['certification_challenges.id'], name=op.f('fk_attempts_challenge_id_certification_challenges')),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_attempts_pensioner_id_pensioners')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_attempts_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('challenge_id', name=op.f('uq_attempts_challenge_id'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_account_started_at', ['account_id', 'started_at'], unique=False)
        batch_op.create_index('ix_attempts_pensioner_started_at', ['pensioner_id', 'started_at'], unique=False)

    op.create_table('attempt_frames',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('frame_index', sa.Integer(), nullable=False),
    sa.Column('image_key', sa.String(length=32), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_attempt_frames_attempt_id_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_frames'))
    )
    with op.batch_alter_table('attempt_frames', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_frames_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_frames_captured_at'), ['captured_at'], unique=False)

    op.create_table('review_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('pensioner_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('upload', 'borderline', name='reviewreason', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'rejected', name='reviewstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decision_attempt_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_review_cases_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_users.id'], name=op.f('fk_review_cases_decided_by_id_staff_users')),
    sa.ForeignKeyConstraint(['decision_attempt_id'], ['attempts.id'], name=op.f('fk_review_cases_decision_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['pensioner_id'], ['pensioners.id'], name=op.f('fk_review_cases_pensioner_id_pensioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cases')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_review_cases_attempt_id'))
    )
    with op.batch_alter_table('review_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_cases_pensioner_id'), ['pensioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_cases_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_cases_status'))
        batch_op.drop_index(batch_op.f('ix_review_cases_pensioner_id'))

    op.drop_table('review_cases')
    with op.batch_alter_table('attempt_frames', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_frames_captured_at'))
        batch_op.drop_index(batch_op.f('ix_attempt_frames_attempt_id'))

    op.drop_table('attempt_frames')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_pensioner_started_at')
        batch_op.drop_index('ix_attempts_account_started_at')

    op.drop_table('attempts')
    with op.batch_alter_table('certification_challenges', schema=None) as batch_op:
        batch_op.drop_index('ix_certification_challenges_pensioner_issued_at')

    op.drop_table('certification_challenges')
