"""Home Assistant itself, for the tests: its venv (`.venv-homeassistant/`, made on first use; gitignored) and its core
run offline on a config directory, onboarded and given the MQTT integration through its own REST API, as a person
does through its UI.

Home Assistant 2024.1 is the last release that runs on Python 3.11, this project's. `--skip-pip` keeps it from
installing anything at run time, so the venv holds what the integrations used here import: paho-mqtt 1.6.1 (MQTT),
janus (file_upload, MQTT's dependency), Pillow (image_upload, under onboarding's `person`), and SQLAlchemy,
fnv-hash-fast and psutil-home-assistant (the recorder, which onboarding's `analytics` imports but never starts).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import requests

from tests.support import free_port, package_venv, wait_for

PACKAGES = ("homeassistant==2024.1.6 paho-mqtt==1.6.1 janus==1.0.0 Pillow==10.1.0 SQLAlchemy==2.0.23 "
            "fnv-hash-fast==0.5.0 psutil-home-assistant==0.0.1")
VENV = Path(__file__).resolve().parents[2] / ".venv-homeassistant"
CONFIG = """homeassistant:
  name: Voxframe test home
  latitude: 52.5
  longitude: 13.4
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: DE
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
logger:
  default: warning
"""


def ha_python() -> Path:
    """The Home Assistant venv's interpreter (its install takes minutes on a fresh machine)."""
    return package_venv(VENV, PACKAGES, install_timeout=1800)


class HomeAssistantCore:
    """`python -m homeassistant` on its own config directory and a free loopback port."""

    def __init__(self, python: Path, config_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_dir = config_dir
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text(CONFIG.format(port=self.port))
        self.log = config_dir / "home-assistant.out"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([str(python), "-m", "homeassistant", "-c", str(config_dir), "--skip-pip"],
                                            stdout=log, stderr=subprocess.STDOUT)
        self.token = ""

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"Home Assistant exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/api/onboarding", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def onboard(self) -> None:
        """The first user, its login code exchanged for a token. Onboarding's later steps are left undone: its
        core_config step sets up cloud integrations (Met.no weather, Google Translate, radio browser), and the
        API serves the user without them."""
        wait_for(self._answers, timeout=240, interval=1, message="Home Assistant's onboarding API")
        client_id = f"{self.url}/"
        code = self.call("POST", "/api/onboarding/users", json={
            "client_id": client_id, "name": "Test", "username": "test", "password": "a-test-password",
            "language": "en"})["auth_code"]
        answer = requests.post(f"{self.url}/auth/token", timeout=10, data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id})
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    def add_mqtt(self, port: int, prefix: str) -> None:
        """The MQTT integration on the broker at 127.0.0.1:`port`, its discovery (and birth) under `prefix`."""
        flow = self.call("POST", "/api/config/config_entries/flow", json={"handler": "mqtt"})
        entry = self.call("POST", f"/api/config/config_entries/flow/{flow['flow_id']}",
                          json={"broker": "127.0.0.1", "port": port})
        assert entry.get("type") == "create_entry", entry
        options = self.call("POST", "/api/config/config_entries/options/flow",
                            json={"handler": entry["result"]["entry_id"]})
        step = self.call("POST", f"/api/config/config_entries/options/flow/{options['flow_id']}",
                         json={"broker": "127.0.0.1", "port": port})
        assert step.get("step_id") == "options", step
        done = self.call("POST", f"/api/config/config_entries/options/flow/{options['flow_id']}", json={
            "discovery": True, "discovery_prefix": prefix, "birth_enable": True, "birth_topic": f"{prefix}/status",
            "birth_payload": "online", "will_enable": True, "will_topic": f"{prefix}/status",
            "will_payload": "offline"})
        assert done.get("type") == "create_entry", done

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.call("GET", "/api/states")}

    def fetch(self, path: str) -> requests.Response:
        answer = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
