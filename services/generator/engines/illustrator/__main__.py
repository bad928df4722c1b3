"""`python -m services.generator.engines.illustrator`: build the illustration-name index once, at install."""

import logging

from services.generator.engines.illustrator import IllustratorBackend

logging.basicConfig(level=logging.INFO, format="%(message)s")
IllustratorBackend()
