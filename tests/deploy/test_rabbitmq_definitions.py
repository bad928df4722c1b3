"""The broker's definitions, rendered from .env values and imported into the real RabbitMQ."""

from __future__ import annotations

import json
from pathlib import Path

import pika
import pytest

from shared.bus import Bus
from shared.config import BusSettings
from tests.deploy.conftest import ROLES, amqp_url, credentials, need, render, role_url, run
from tests.support import wait_for


def test_definitions_hold_the_vhost_a_user_per_role_scoped_permissions_and_a_bounded_dead_queue(
        tmp_path: Path) -> None:
    env = credentials("vfdef")
    code, _, out = render(tmp_path, env)
    assert code == 0
    defs = json.loads(out.read_text())
    assert [v["name"] for v in defs["vhosts"]] == ["vfdef-vhost"]
    users = {u["name"]: u for u in defs["users"]}
    assert users.pop("vfdef-admin") == {"name": "vfdef-admin", "password": env["RABBITMQ_ADMIN_PASSWORD"],
                                        "tags": ["administrator"]}
    assert users == {f"vfdef-vf-{role}": {"name": f"vfdef-vf-{role}", "tags": [],
                                          "password": env[f"VOXFRAME_RABBITMQ_{role.upper()}_PASSWORD"]}
                     for role in ROLES}
    for rule in defs["permissions"] + defs["topic_permissions"]:
        for field in ("configure", "write", "read"):
            assert r"vfdef\.ns\." in rule.get(field, "") or "vfdef" not in rule.get(field, ""), rule
    assert {t["exchange"] for t in defs["topic_permissions"]} == {"vfdef.ns.events", "vfdef.ns.dlx"}
    assert [(p["pattern"], p["definition"]) for p in defs["policies"]] == [
        (r"^vfdef\.ns\.dead$", {"max-length-bytes": 536870912})]
    assert out.stat().st_mode & 0o077 == 0, "the file holds passwords"
    assert "guest" not in out.read_text() and "@" not in out.read_text()


@pytest.mark.parametrize(("variable", "value", "complaint"), [
    ("VOXFRAME_RABBITMQ_GENERATOR_PASSWORD", "", "VOXFRAME_RABBITMQ_GENERATOR_PASSWORD is not set"),
    ("RABBITMQ_ADMIN_PASSWORD", 'pa"ss', "RABBITMQ_ADMIN_PASSWORD may hold only"),
    ("VOXFRAME_RABBITMQ_USER", "a@b", "VOXFRAME_RABBITMQ_USER may hold only"),
    ("RABBITMQ_ADMIN_USER", "vfdef-vf-display", "must not be named like a worker user"),
])
def test_missing_or_unsafe_values_are_refused_with_the_variable_named(
        tmp_path: Path, variable: str, value: str, complaint: str) -> None:
    code, stderr, out = render(tmp_path, {**credentials("vfdef"), variable: value})
    assert code == 64 and complaint in stderr
    assert not out.exists()


def test_example_passwords_are_accepted_with_a_warning(tmp_path: Path) -> None:
    code, stderr, _ = render(tmp_path, {**credentials("vfdef"), "VOXFRAME_RABBITMQ_CAPTURE_PASSWORD": "change-me-capt"})
    assert code == 0 and "WARNING: VOXFRAME_RABBITMQ_CAPTURE_PASSWORD is still the example value" in stderr


def connect(url: str) -> pika.BlockingConnection | None:
    try:
        return pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPConnectionError:
        return None


@pytest.mark.slow  # rabbitmqctl takes ~2 s a call
def test_the_display_user_declares_the_pipeline_topology_in_its_namespace_and_nothing_else(
        imported: dict[str, str]) -> None:
    env = imported
    url = role_url(env, "display")
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
        channel.basic_publish(f"{ns}.events", "control.room.mic", b"{}")
        wait_for(lambda: channel.queue_declare(f"{ns}.prompter", passive=True).method.message_count == 1, 10,
                 message="the published control in the prompter's queue")
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
    wrong = role_url({**env, "VOXFRAME_RABBITMQ_CAPTURE_PASSWORD": "not-the-password"}, "capture")
    assert connect(wrong) is None
    permissions = run(need("rabbitmqctl"), "-q", "list_permissions", "-p", env["VOXFRAME_RABBITMQ_VHOST"],
                      timeout=30).stdout
    assert "guest" not in permissions
