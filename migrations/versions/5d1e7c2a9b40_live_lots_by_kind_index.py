"""index of open lots by kind in ending order (the market's kind filter, the falling-price shelf)

At 1,000,000 lots (benchmarks/README.md) the home page's falling-price shelf (open Dutch lots,
ending soonest, four) walked the whole `ix_listings_live_ending` index looking for Dutch rows: 150 ms
of the page's 170 ms; the market filtered to fixed-price lots (no end, so last in that order) took
380 ms. With the kind first, each is a short range scan.

Revision ID: 5d1e7c2a9b40
Revises: 352eadfb3ba3
Create Date: 2026-11-27 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1e7c2a9b40'
down_revision = '352eadfb3ba3'
branch_labels = None
depends_on = None

NAME = 'ix_listings_live_kind_ending'
COLUMNS = ['kind', 'ends_at', 'id']
LIVE = 'closed_status IS NULL'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # CONCURRENTLY, like the other catalog indexes: bids keep writing to listings meanwhile.
        with op.get_context().autocommit_block():
            op.create_index(NAME, 'listings', COLUMNS, unique=False, postgresql_concurrently=True,
                            if_not_exists=True, postgresql_where=sa.text(LIVE))
    else:
        with op.batch_alter_table('listings', schema=None) as batch_op:
            batch_op.create_index(NAME, COLUMNS, unique=False, sqlite_where=sa.text(LIVE))


def downgrade():
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index(NAME)
