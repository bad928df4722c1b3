"""A real Prometheus, with the deployment's jobs and alert rules, scraping a real running worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import requests
import yaml

from shared.config import BusSettings
from tests.deploy.conftest import PROMETHEUS_DIR, ROOT, need
from tests.support import AMQP_URL, Broker, free_port, wait_for

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "voxframe.json"
pytestmark = pytest.mark.slow  # starts a worker and Prometheus (~10 s together)


def answers(url: str, status: int = 200) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


def stop(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out.decode(errors="replace")


@pytest.fixture(scope="module")
def prompter() -> Iterator[int]:
    """`voxframe prompter` in its own namespace on the real broker; yields its metrics port."""
    port = free_port()
    namespace = f"vftest-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "VOXFRAME_AMQP_URL": AMQP_URL, "VOXFRAME_NAMESPACE": namespace}
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "prompter", "--metrics-port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz") or process.poll() is not None, 60, 0.2,
                 "the prompter to connect")
        if process.poll() is not None:
            pytest.fail(f"voxframe prompter exited {process.returncode}:\n{stop(process)[-3000:]}")
        yield port
    finally:
        stop(process)
        broker = Broker(BusSettings(amqp_url=AMQP_URL, namespace=namespace))
        broker.cleanup()


@pytest.fixture(scope="module")
def prometheus(prompter: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """prometheus with deploy/prometheus's worker jobs and rules; only the prompter has a target here."""
    binary = need("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]]
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == "voxframe-prompter"]
    jobs[0].pop("dns_sd_configs")
    jobs[0]["static_configs"] = [{"targets": [f"127.0.0.1:{prompter}"]}]
    config["scrape_configs"] = jobs
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(f"{url}/-/ready") or process.poll() is not None, 30, 0.1, "Prometheus to be ready")
        if process.poll() is not None:
            pytest.fail(f"prometheus exited {process.returncode}:\n{stop(process)[-3000:]}")
        yield url
    finally:
        stop(process)


def query(url: str, expr: str) -> list[dict]:
    reply = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert reply["status"] == "success", f"{expr}: {reply.get('error')}"
    return reply["data"]["result"]


def test_prometheus_scrapes_the_worker_and_finds_it_up_and_connected(prometheus: str) -> None:
    up = wait_for(lambda: query(prometheus, 'up{job="voxframe-prompter"} == 1'), 30, 0.2, "up == 1")
    assert up[0]["metric"]["job"] == "voxframe-prompter"
    connected = wait_for(lambda: query(prometheus, 'voxframe_bus_connected{stage="prompter"} == 1'), 30, 0.2,
                         "voxframe_bus_connected == 1")
    assert connected[0]["value"][1] == "1"
    assert query(prometheus, 'voxframe_build_info{stage="prompter"}')


def test_alert_rules_evaluate_cleanly_and_see_the_missing_stages(prometheus: str) -> None:
    def evaluated() -> list[dict]:
        groups = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(r["lastEvaluation"] > "2000" for r in rules) else []

    rules = wait_for(evaluated, 30, 0.2, "every rule to be evaluated")
    assert {r["name"] for r in rules} >= {"VoxframeWorkerDown", "VoxframeWorkerMissing", "VoxframeBacklogGrowing",
                                          "VoxframeDeadLetters", "VoxframeEndToEndLatencyHigh"}
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []

    def pending() -> set[tuple[str, str]]:
        alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        return {(a["labels"]["alertname"], a["labels"].get("job", "")) for a in alerts}

    # Rules may run once before the first scrape, when the prompter too looks missing; that clears.
    missing = {("VoxframeWorkerMissing", f"voxframe-{stage}") for stage in ("capture", "transcriber", "display")}
    scraped = ("VoxframeWorkerMissing", "voxframe-prompter")
    alerts = wait_for(lambda: (found := pending()) >= missing and scraped not in found and found, 30, 0.2,
                      "exactly the stages with no target flagged")
    assert not {name for name, _ in alerts} & {"VoxframeWorkerDown", "VoxframeBrokerDisconnected"}


def test_every_dashboard_query_is_valid_promql(prometheus: str) -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert len(exprs) > 20
    for expr in exprs:
        query(prometheus, expr.replace("$__rate_interval", "1m"))
    live = query(prometheus, 'sum by (job) (up{job=~"voxframe-.+"})')
    assert live == [{"metric": {"job": "voxframe-prompter"}, "value": live[0]["value"]}]
