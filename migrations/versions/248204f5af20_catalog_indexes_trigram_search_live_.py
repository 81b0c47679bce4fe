"""catalog indexes: trigram search, live lots in each sort's order

Revision ID: 248204f5af20
Revises: ebffa9103a48
Create Date: 2026-11-23 20:58:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '248204f5af20'
down_revision = 'ebffa9103a48'
branch_labels = None
depends_on = None

LIVE = 'closed_status IS NULL'
# name, columns, partial on open lots? (ListingService.search orders by exactly these columns)
BTREE = [
    ('ix_listings_live_ending', ['ends_at', 'id'], True),
    ('ix_listings_live_newest', ['created_at', 'id'], True),
    ('ix_listings_live_price', ['current_price_cents', 'id'], True),
    ('ix_listings_live_starts', ['starts_at'], True),
    ('ix_listings_ending', ['ends_at', 'id'], False),
    ('ix_listings_newest', ['created_at', 'id'], False),
    ('ix_listings_price', ['current_price_cents', 'id'], False),
]


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # Built CONCURRENTLY (outside the transaction): a live market's bids and closings keep
        # writing to listings while the indexes of a large catalog are built.
        with op.get_context().autocommit_block():
            op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
            op.create_index('ix_listings_handle_name_trgm', 'listings', ['handle_name'], unique=False,
                            postgresql_using='gin', postgresql_ops={'handle_name': 'gin_trgm_ops'},
                            postgresql_concurrently=True, if_not_exists=True)
            for name, columns, partial in BTREE:
                op.create_index(name, 'listings', columns, unique=False, postgresql_concurrently=True,
                                if_not_exists=True, postgresql_where=sa.text(LIVE) if partial else None)
    else:
        # SQLite: no trigram index (LIKE '%term%' scans; fine at the sizes SQLite serves here).
        with op.batch_alter_table('listings', schema=None) as batch_op:
            for name, columns, partial in BTREE:
                batch_op.create_index(name, columns, unique=False,
                                      sqlite_where=sa.text(LIVE) if partial else None)


def downgrade():
    with op.batch_alter_table('listings', schema=None) as batch_op:
        for name, _columns, _partial in reversed(BTREE):
            batch_op.drop_index(name)
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_listings_handle_name_trgm', table_name='listings')
        # The extension stays: other objects may use it, and dropping it needs more rights.
