"""Join the cycle engine, accounts and face certification branches into one head

Revision ID: 0006
Revises: 0003a, 0004, 0005
Create Date: 2026-12-04 17:00:00
"""

revision = "0006"
down_revision = ("0003a", "0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
