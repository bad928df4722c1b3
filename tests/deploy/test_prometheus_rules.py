"""Prometheus' config and alert rules, checked and unit-tested by promtool itself."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.conftest import PROMETHEUS_DIR, need, run


def test_prometheus_config_and_the_rules_it_loads_are_valid() -> None:
    result = run(need("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rules/voxframe.yml" in result.stdout, "the config must load the alert rules"


def test_alert_rules_are_valid() -> None:
    result = run(need("promtool"), "check", "rules", *map(str, sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_when_they_should_and_stay_quiet_otherwise() -> None:
    result = run(need("promtool"), "test", "rules", str(PROMETHEUS_DIR / "rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_fails_when_an_expected_alert_does_not_fire(tmp_path: Path) -> None:
    """Guards the check above: a wrong expectation must fail, so a pass means something."""
    wrong = tmp_path / "wrong.test.yml"
    wrong.write_text(f"""rule_files: ["{PROMETHEUS_DIR / 'rules' / 'voxframe.yml'}"]
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="voxframe-prompter", instance="p:9103"}}'
        values: "1x10"
    alert_rule_test:
      - alertname: VoxframeWorkerDown
        eval_time: 5m
        exp_alerts: [{{exp_labels: {{severity: critical, job: voxframe-prompter, instance: "p:9103"}}}}]
""")
    result = run(need("promtool"), "test", "rules", str(wrong))
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
