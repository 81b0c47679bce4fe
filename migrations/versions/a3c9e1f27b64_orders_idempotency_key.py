"""orders.idempotency_key: a purchase confirmed twice (double click, resent form) is one order

Revision ID: a3c9e1f27b64
Revises: 5d1e7c2a9b40
Create Date: 2026-12-08 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9e1f27b64'
down_revision = '5d1e7c2a9b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        # NULLs never collide, so wins (no key) are unaffected.
        batch_op.create_index('ix_orders_buyer_key', ['buyer_id', 'idempotency_key'], unique=True)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_buyer_key')
        batch_op.drop_column('idempotency_key')
