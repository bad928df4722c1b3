"""Build the peers' own venvs (the Wyoming satellite, then Home Assistant) ahead of the tests that start them.

`make test` runs this beside pytest: the installs are mostly downloads, so they overlap the first tests instead
of stalling the ones that need them. `package_venv` holds a lock per venv, so a test that gets there first waits
for the build under way and then uses it; a build that fails here is simply made again by the test.
"""

from __future__ import annotations

from tests.capture.satellite import satellite_python
from tests.display.home_assistant_core import ha_python

if __name__ == "__main__":
    satellite_python()
    ha_python()
