"""The provisioned Grafana dashboard and the alert rules refer to metrics that really exist."""

from __future__ import annotations

import json
import re

import yaml

from tests.deploy.conftest import PROMETHEUS_DIR, ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "voxframe.json"
# What rabbitmq_prometheus serves for the two families prometheus.yml asks /metrics/detailed for.
RABBITMQ_DETAILED = {
    "queue_coarse_metrics": {"rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
                             "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_process_reductions_total"},
    "queue_consumer_count": {"rabbitmq_detailed_queue_consumers"},
}
# What rabbitmq_prometheus serves on /metrics (the node's resource alarms, 0 or 1).
RABBITMQ_NODE = {"rabbitmq_alarms_memory_used_watermark", "rabbitmq_alarms_free_disk_space_watermark",
                 "rabbitmq_alarms_file_descriptor_limit"}
STANDARD = {"up", "process_start_time_seconds"} | RABBITMQ_NODE
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_info", "_created")
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "min", "max", "and", "on", "or", "unless",
                "offset", "absent", "deriv", "time", "le", "bool", "without", "ignoring",
                "label_replace"}


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p.get("targets", [])]


def rule_exprs() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "rules" / "voxframe.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\([^()]*\b(?:by|on)\b", " ", without_strings)
    return {w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", without_labels)
            if w not in PROMQL_WORDS and ("_" in w or w in STANDARD)}


def defined_voxframe_metrics() -> set[str]:
    """Names declared with prometheus_client anywhere in shared/ and services/."""
    names = set()
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py")]:
        names |= set(re.findall(r'(?:Counter|Gauge|Histogram|Summary|Info)\(\s*"(voxframe_\w+)"', path.read_text()))
    return names


def exists(name: str, defined: set[str], families: set[str]) -> bool:
    if name in STANDARD or any(name in RABBITMQ_DETAILED[f] for f in families):
        return True
    candidates = {name} | {name.removesuffix(s) for s in SUFFIXES if name.endswith(s)}
    return bool(candidates & (defined | {d.removesuffix("_total") for d in defined}))


def test_every_metric_the_dashboard_and_alerts_use_is_exported_by_a_worker_or_the_broker() -> None:
    scrape = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["scrape_configs"]
    families = {f for job in scrape for f in job.get("params", {}).get("family", [])}
    defined = defined_voxframe_metrics()
    assert {"voxframe_messages_consumed_total", "voxframe_work_age_seconds"} <= defined
    used = {name for expr in dashboard_exprs() + rule_exprs() for name in metric_names(expr)}
    assert "voxframe_work_age_seconds_bucket" in used and "rabbitmq_detailed_queue_messages_ready" in used
    unknown = sorted(name for name in used if not exists(name, defined, families))
    assert unknown == [], f"no worker or scrape job exports {unknown}"


def test_metric_name_check_catches_a_misspelt_metric() -> None:
    defined = defined_voxframe_metrics()
    names = metric_names('sum by (stage) (rate(voxframe_mesages_consumed_total{stage="x"}[5m]))')
    assert names == {"voxframe_mesages_consumed_total"}
    assert not exists("voxframe_mesages_consumed_total", defined, set(RABBITMQ_DETAILED))


def test_dashboard_uses_the_provisioned_datasource_and_a_sound_layout() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    # No fixed uid: a variable of type datasource, so the file imports into a Grafana that has its own Prometheus.
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    uid = "${" + variable["name"] + "}"
    assert "voxframe-prometheus" not in DASHBOARD.read_text()
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("latency", "queue", "drops", "dead letters", "errors", "reconnects", "per second"):
        assert topic in titles, topic
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "voxframe.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_latency_panels_follow_the_speech_through_every_stage() -> None:
    latency = " ".join(e for e in dashboard_exprs() if "voxframe_work_age_seconds_bucket" in e)
    for stage, kind in (("transcriber", "audio"), ("prompter", "transcript"), ("generator", "prompt"),
                        ("display", "image")):
        assert f'stage="{stage}", type="{kind}"' in latency, stage
