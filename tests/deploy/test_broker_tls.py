"""AMQPS for hosts beyond the machine: a real RabbitMQ node with the deployment's tls.conf and certificates from a
private CA made with openssl, the definitions' role users imported into it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.bus import Bus, BusConfigError, BusStopped
from shared.config import BusSettings
from shared.messages import Command, Control
from tests.bus.test_bus import audio
from tests.cluster.rabbit import Cluster
from tests.deploy.conftest import ROOT, credentials, need, render, role_url, run
from tests.support import free_port, wait_for

pytestmark = pytest.mark.slow  # a RabbitMQ node of its own (~15 s to boot)


def make_certificates(folder: Path) -> None:
    """A CA, and a broker certificate it signed for 127.0.0.1 and localhost (what docs name the three commands)."""
    def openssl(*args: str) -> None:
        subprocess.run([need("openssl"), *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=voxframe-test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=broker", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days",
            "2", "-copy_extensions", "copy", "-out", "server.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=someone-else",
            "-keyout", "other.key", "-out", "other-ca.pem")
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the node runs as the rabbitmq user


@pytest.fixture(scope="module")
def tls_node() -> Iterator[tuple[Cluster, Path, int, dict[str, str]]]:
    """One node whose TLS listener is deploy/rabbitmq/tls.conf with the certificates' paths and a free port."""
    need("rabbitmq-server")
    folder = Path(tempfile.mkdtemp(prefix="vftls-"))
    make_certificates(folder)
    port = free_port()
    conf = (ROOT / "deploy" / "rabbitmq" / "tls.conf").read_text().replace("/etc/rabbitmq/tls/", f"{folder}/")
    conf = re.sub(r"(?m)^listeners\.ssl\.default = \d+$",  # loopback only; 127.0.0.2 is a name not in the cert
                  f"listeners.ssl.default = 127.0.0.1:{port}\nlisteners.ssl.other = 127.0.0.2:{port}", conf)
    assert f"127.0.0.1:{port}" in conf and str(folder) in conf
    node = Cluster(1, conf=conf)
    try:
        node.start()
        env = credentials("vftls")
        code, stderr, definitions = render(folder, env)
        assert code == 0, stderr
        with definitions.open() as data:
            imported = run(need("rabbitmqctl"), "-q", "-n", node.nodes[0].name, "import_definitions", stdin=data)
        assert imported.returncode == 0, imported.stderr
        yield node, folder, port, env
    finally:
        node.close()
        shutil.rmtree(folder, ignore_errors=True)


def amqps(env: dict[str, str], role: str, port: int, host: str = "127.0.0.1") -> str:
    return role_url(env, role, f"amqp://x:x@{host}:{port}/").replace("amqp://", "amqps://", 1)


def settings(url: str, env: dict[str, str]) -> BusSettings:
    return BusSettings(amqp_url=url, namespace=env["VOXFRAME_NAMESPACE"], connect_timeout_seconds=5)


def test_a_role_works_over_amqps_with_the_brokers_ca_and_is_still_held_to_its_role(
        tls_node: tuple[Cluster, Path, int, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, folder, port, env = tls_node
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / "ca.pem"))  # as deploy/gpu-host/worker.yml sets it
    heard: list[Control] = []
    display = Bus("tls-display", settings(amqps(env, "display", port), env))
    capture = Bus("tls-capture", settings(amqps(env, "capture", port), env))
    capture.consume(capture.topology.control("living"), {Control: heard.append})
    try:
        display.start()
        display.wait_connected(20)
        capture.start()
        capture.wait_connected(20)
        capture.publish(audio(0))  # a mic host's speech, over TLS
        display.publish(Control(room="living", source="dashboard", command=Command.MUTE))
        wait_for(lambda: heard, message="the dashboard's control at the mic")
        with pytest.raises(BusStopped):  # a mic host forging a control: the broker closes it out
            capture.publish(Control(room="living", source="hall-mic", command=Command.UNMUTE), timeout=10)
        assert isinstance(capture.failed, BusConfigError) and "ACCESS_REFUSED" in str(capture.failed)
    finally:
        capture.stop(10)
        display.stop(10)


@pytest.mark.parametrize(("ca", "scheme", "host", "expected"), [
    ("other-ca.pem", "amqps", "127.0.0.1", "CERTIFICATE_VERIFY_FAILED"),
    ("ca.pem", "amqps", "127.0.0.2", "CERTIFICATE_VERIFY_FAILED"),  # a name the certificate does not hold
    ("ca.pem", "amqp", "127.0.0.1", "not reachable"),  # plain AMQP to the TLS port
])
def test_a_broker_that_cannot_prove_itself_or_plain_amqp_is_refused(
        tls_node: tuple[Cluster, Path, int, dict[str, str]], monkeypatch: pytest.MonkeyPatch, ca: str, scheme: str,
        host: str, expected: str) -> None:
    _, folder, port, env = tls_node
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / ca))
    url = amqps(env, "capture", port, host).replace("amqps://", f"{scheme}://", 1)
    bus = Bus("tls-refused", settings(url, env).model_copy(update={"connect_timeout_seconds": 1}))
    with pytest.raises(BusConfigError, match=expected):
        bus.run(install_signal_handlers=False)
