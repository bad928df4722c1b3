"""Upload jobs: one owner for an upload's whole life, from the accepted file to its pictures."""

from services.display.jobs.book import JobBook

__all__ = ["JobBook"]
