"""known-file hash sets; md5, sha1 and hash-set matches of media items

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hash_sets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('source_name', sa.Text(), nullable=True),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('hash_set_entries',
    sa.Column('algorithm', sa.String(length=6).with_variant(sa.String(length=6, collation='C'), 'postgresql'), nullable=False),
    sa.Column('hash', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['hash_sets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('algorithm', 'hash', 'set_id'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('md5', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sha1', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('hash_matches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.drop_column('hash_matches')
        batch_op.drop_column('sha1')
        batch_op.drop_column('md5')
    op.drop_table('hash_set_entries')
    op.drop_table('hash_sets')
