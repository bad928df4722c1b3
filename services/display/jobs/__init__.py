"""Upload jobs: one owner for an upload's whole life, from the accepted file to its pictures (see owner.py)."""

from services.display.jobs.book import JobBook
from services.display.jobs.owner import JobRefused, Jobs

__all__ = ["JobBook", "JobRefused", "Jobs"]
