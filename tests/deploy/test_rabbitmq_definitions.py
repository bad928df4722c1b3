"""The broker's definitions, rendered from .env values and imported into the real RabbitMQ."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from shared.bus import Bus
from shared.config import BusSettings
from tests.deploy.conftest import ROOT, need, run
from tests.support import AMQP_URL, wait_for

RENDER = ROOT / "deploy" / "rabbitmq" / "render-definitions.sh"


def credentials(tag: str) -> dict[str, str]:
    return {"RABBITMQ_ADMIN_USER": f"{tag}-admin", "RABBITMQ_ADMIN_PASSWORD": uuid.uuid4().hex,
            "VOXFRAME_RABBITMQ_USER": f"{tag}-worker", "VOXFRAME_RABBITMQ_PASSWORD": uuid.uuid4().hex,
            "VOXFRAME_RABBITMQ_VHOST": f"{tag}-vhost", "VOXFRAME_NAMESPACE": f"{tag}.ns"}


def render(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, Path]:
    out = tmp_path / "definitions.json"
    result = run("sh", str(RENDER), "--render-only", str(out), env={"PATH": os.environ["PATH"], **env})
    return result.returncode, result.stderr, out


def test_definitions_hold_the_vhost_both_users_scoped_permissions_and_a_bounded_dead_queue(tmp_path: Path) -> None:
    env = credentials("vfdef")
    code, _, out = render(tmp_path, env)
    assert code == 0
    defs = json.loads(out.read_text())
    assert [v["name"] for v in defs["vhosts"]] == ["vfdef-vhost"]
    users = {u["name"]: u for u in defs["users"]}
    assert users["vfdef-admin"] == {"name": "vfdef-admin", "password": env["RABBITMQ_ADMIN_PASSWORD"],
                                    "tags": ["administrator"]}
    assert (users["vfdef-worker"]["tags"] == []
            and users["vfdef-worker"]["password"] == env["VOXFRAME_RABBITMQ_PASSWORD"])
    worker = next(p for p in defs["permissions"] if p["user"] == "vfdef-worker")
    assert worker["configure"] == worker["write"] == worker["read"] == r"^(vfdef\.ns\..*|amq\.gen-.*)$"
    assert [(p["pattern"], p["definition"]) for p in defs["policies"]] == [
        (r"^vfdef\.ns\.dead$", {"max-length-bytes": 536870912})]
    assert out.stat().st_mode & 0o077 == 0, "the file holds passwords"
    assert "guest" not in out.read_text()


@pytest.mark.parametrize(("variable", "value", "complaint"), [
    ("VOXFRAME_RABBITMQ_PASSWORD", "", "VOXFRAME_RABBITMQ_PASSWORD is not set"),
    ("RABBITMQ_ADMIN_PASSWORD", 'pa"ss', "RABBITMQ_ADMIN_PASSWORD may hold only"),
    ("VOXFRAME_RABBITMQ_USER", "a@b", "VOXFRAME_RABBITMQ_USER may hold only"),
    ("VOXFRAME_RABBITMQ_USER", "vfdef-admin", "must differ"),
])
def test_missing_or_unsafe_values_are_refused_with_the_variable_named(
        tmp_path: Path, variable: str, value: str, complaint: str) -> None:
    code, stderr, out = render(tmp_path, {**credentials("vfdef"), variable: value})
    assert code == 64 and complaint in stderr
    assert not out.exists()


def test_example_passwords_are_accepted_with_a_warning(tmp_path: Path) -> None:
    code, stderr, _ = render(tmp_path, {**credentials("vfdef"), "VOXFRAME_RABBITMQ_PASSWORD": "change-me-worker"})
    assert code == 0 and "WARNING: VOXFRAME_RABBITMQ_PASSWORD is still the example value" in stderr


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The rendered definitions imported into the real broker under throwaway names, removed afterwards."""
    tmp_path = tmp_path_factory.mktemp("definitions")
    ctl = need("rabbitmqctl")
    if run(ctl, "-q", "status", timeout=30).returncode != 0:
        pytest.skip("rabbitmqctl cannot reach the local node (needs its Erlang cookie)")
    env = credentials(f"vfdef{uuid.uuid4().hex[:6]}")
    code, stderr, out = render(tmp_path, env)
    assert code == 0, stderr
    with out.open() as definitions:
        result = run(ctl, "-q", "import_definitions", timeout=30, stdin=definitions)
    assert result.returncode == 0, result.stderr
    yield env
    run(ctl, "-q", "delete_vhost", env["VOXFRAME_RABBITMQ_VHOST"], timeout=30)
    for user in (env["RABBITMQ_ADMIN_USER"], env["VOXFRAME_RABBITMQ_USER"]):
        run(ctl, "-q", "delete_user", user, timeout=30)


def amqp_url(user: str, password: str, vhost: str) -> str:
    host = pika.URLParameters(AMQP_URL)
    return f"amqp://{user}:{password}@{host.host}:{host.port}/{vhost}"


def connect(url: str) -> pika.BlockingConnection | None:
    try:
        return pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPConnectionError:
        return None


@pytest.mark.slow  # rabbitmqctl takes ~2 s a call
def test_worker_user_runs_the_pipeline_topology_in_its_namespace_and_nothing_else(
        imported: dict[str, str]) -> None:
    env = imported
    url = amqp_url(env["VOXFRAME_RABBITMQ_USER"], env["VOXFRAME_RABBITMQ_PASSWORD"], env["VOXFRAME_RABBITMQ_VHOST"])
    connection = wait_for(lambda: connect(url), 10, 0.2, "the imported worker user to log in")
    assert isinstance(connection, pika.BlockingConnection)
    try:
        settings = BusSettings(amqp_url=url, namespace=env["VOXFRAME_NAMESPACE"], connect_timeout_seconds=10)
        bus = Bus("deploytest", settings)
        bus.start()
        bus.wait_connected(10)
        bus.stop(10)

        channel = connection.channel()
        ns = env["VOXFRAME_NAMESPACE"]
        channel.basic_publish(f"{ns}.events", "prompt.room.mic", b"{}")
        wait_for(lambda: channel.queue_declare(f"{ns}.prompts", passive=True).method.message_count == 1, 10,
                 message="the published prompt in the prompts queue")
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            channel.queue_declare("someone-else.audio", durable=True)
        assert refused.value.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()

    ctl = need("rabbitmqctl")
    queues = run(ctl, "-q", "list_queues", "-p", env["VOXFRAME_RABBITMQ_VHOST"], "name", "policy", timeout=30).stdout
    policies = dict(line.split("\t") for line in queues.splitlines() if "\t" in line and not line.startswith("name"))
    assert policies[f"{ns}.dead"] == "voxframe-dead-letters-bounded"
    assert all(policy == "" for name, policy in policies.items() if name != f"{ns}.dead"), policies


@pytest.mark.slow
def test_admin_logs_in_a_wrong_password_does_not_and_guest_has_no_access(imported: dict[str, str]) -> None:
    env = imported
    url = amqp_url(env["RABBITMQ_ADMIN_USER"], env["RABBITMQ_ADMIN_PASSWORD"], env["VOXFRAME_RABBITMQ_VHOST"])
    connection = wait_for(lambda: connect(url), 10, 0.2, "the imported admin user to log in")
    assert isinstance(connection, pika.BlockingConnection)
    connection.close()
    wrong = amqp_url(env["VOXFRAME_RABBITMQ_USER"], "not-the-password", env["VOXFRAME_RABBITMQ_VHOST"])
    assert connect(wrong) is None
    permissions = run(need("rabbitmqctl"), "-q", "list_permissions", "-p", env["VOXFRAME_RABBITMQ_VHOST"],
                      timeout=30).stdout
    assert "guest" not in permissions
