"""Upload jobs: one owner for an upload's whole life, from the accepted file to its pictures (see owner.py)."""

from services.display.jobs.book import JobBook
from services.display.jobs.owner import JOB_ID, JOB_ID_RULE, NO_SUCH_JOB, JobRefused, Jobs

__all__ = ["JOB_ID", "JOB_ID_RULE", "NO_SUCH_JOB", "JobBook", "JobRefused", "Jobs"]
