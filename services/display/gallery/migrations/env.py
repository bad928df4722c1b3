"""alembic's entry point for the display's history (see shared/migrations.py)."""

from shared.migrations import run_env

run_env()
