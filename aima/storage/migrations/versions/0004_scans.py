"""batch scans: the files each scan took, by batch, case and flow run; media items by source URI

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('case_prefix', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('files_found', sa.Integer(), nullable=False),
    sa.Column('files_taken', sa.Integer(), nullable=False),
    sa.Column('files_known', sa.Integer(), nullable=False),
    sa.Column('files_in_case', sa.Integer(), nullable=False),
    sa.Column('files_unreadable', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('scan_batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('scan_id', sa.Uuid(), nullable=False),
    sa.Column('folder', sa.Text(), nullable=False),
    sa.Column('case_name', sa.String(length=200), nullable=False),
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('files', sa.Integer(), nullable=False),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('flow_run_name', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_scan_batches_scan_id'), 'scan_batches', ['scan_id'], unique=False)
    op.create_table('scan_files',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.String(length=200), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['scan_batches.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_scan_files_batch_id'), 'scan_files', ['batch_id'], unique=False)
    op.create_index('ix_media_items_source_uri', 'media_items', ['source_uri'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_media_items_source_uri', table_name='media_items')
    op.drop_index(op.f('ix_scan_files_batch_id'), table_name='scan_files')
    op.drop_table('scan_files')
    op.drop_index(op.f('ix_scan_batches_scan_id'), table_name='scan_batches')
    op.drop_table('scan_batches')
    op.drop_table('scans')
