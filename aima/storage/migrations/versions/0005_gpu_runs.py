"""gpu runs: each GPU wave's pool, seconds and spend, kept (detached) when its case is purged

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gpu_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('pool', sa.String(length=200), nullable=False),
    sa.Column('pool_type', sa.String(length=40), nullable=False),
    sa.Column('stages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('gpu_seconds', sa.Float(), nullable=False),
    sa.Column('estimated_usd', sa.Float(), nullable=False),
    sa.Column('actual_usd', sa.Float(), nullable=False),
    sa.Column('actual_source', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    # Spend is billing, not case data: a purge detaches the row instead of deleting it.
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_gpu_runs_case_id'), 'gpu_runs', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gpu_runs_case_id'), table_name='gpu_runs')
    op.drop_table('gpu_runs')
