"""deploy/kiosk: the systemd unit verifies, and pair.sh pairs a real Chromium profile with the real display."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.display.conftest import CHROMIUM, REPO, DisplayProcess

KIOSK = REPO / "deploy" / "kiosk"
TOKEN = "kiosk-token"


def test_the_kiosk_unit_verifies() -> None:
    """systemd-analyze checks its directives and that cage, Chromium and setterm are there to run."""
    if shutil.which("cage") is None:
        pytest.skip("cage is not installed (make test installs it: TEST_PACKAGES)")
    done = subprocess.run(["systemd-analyze", "verify", str(KIOSK / "voxframe-kiosk.service")], check=False,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_install_refuses_what_is_no_pairing_link() -> None:
    done = subprocess.run(["sh", str(KIOSK / "install.sh"), "http://frame-host:8080/frame/kitchen"],
                          check=False, capture_output=True, text=True, timeout=10)
    assert done.returncode == 2 and "no pairing link" in done.stderr


def test_pair_sh_pairs_the_kiosk_profile_and_names_the_frame(display_factory: Callable[..., DisplayProcess],
                                                             tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    made = requests.post(f"{display.url}/api/pairings", json={"name": "hall", "room": "kitchen"}, headers=auth,
                         timeout=5).json()
    profile = tmp_path / "profile"

    def pair() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(KIOSK / "pair.sh"), f"{display.url}{made['link']}", str(profile)],
                              check=False, capture_output=True, text=True, timeout=120,
                              env={"CHROMIUM": CHROMIUM, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})

    done = pair()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{display.url}/frame/kitchen"
    [pairing] = requests.get(f"{display.url}/api/pairings", headers=auth, timeout=5).json()
    assert pairing["paired_at"] is not None  # the display saw the link opened in that profile
    again = pair()  # the link is spent
    assert again.returncode == 1 and "make a new one" in again.stderr
