"""Secrets never reach the logs: `?token=…` (the access token, given once in a URL), `/pair/<code>` (a frame's
one-time pairing link) and `?key=…` (an e-ink frame's key, in the URL it fetches) are blanked from every record
of the web server's access and connection logs."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"([?&]token=|[?&]key=|/pair/)[^&\s\"'#]+")
SCRUBBED_LOGGERS = ("uvicorn.access", "uvicorn.error")


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _SECRET.sub(r"\1<redacted>", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def scrub_web_logs() -> None:
    for name in SCRUBBED_LOGGERS:
        logging.getLogger(name).addFilter(ScrubSecrets())
