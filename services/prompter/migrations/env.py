"""alembic's entry point for the prompter's history (see shared/migrations.py)."""

from shared.migrations import run_env

run_env()
