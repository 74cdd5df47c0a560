"""The monitoring profile's configuration: Prometheus's config and alert rules pass promtool (the
Debian package prometheus), the alert rules fire when alerts.test.yml says, and the Grafana
dashboard queries valid PromQL over metrics that AIMA's exporter really serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aima.monitoring.collector import AimaCollector
from aima.settings import Settings
from aima.storage.database import Database
from tests.monitoring.casedata import fill_case

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deployments" / "monitoring"
GRAFANA = MONITORING / "grafana"
# Metrics of other exporters that the rules and the dashboard use (Prometheus's own and
# postgres-exporter's); every aima_* name must come from AIMA's exporter.
OTHER_METRICS = {"up", "ALERTS", "pg_up"}


def promtool(*args: str, cwd: Path = MONITORING) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: scripts/bootstrap installs it (Debian package prometheus)"
    result = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def exported_metrics(tmp_path_factory) -> set[str]:
    """Every metric family AIMA's exporter serves for a store with one case in it."""
    folder = tmp_path_factory.mktemp("exporter")
    database = Database(f"sqlite:///{folder / 'meta.db'}")
    fill_case(database)
    registry = CollectorRegistry(auto_describe=False)
    collector = AimaCollector(Settings(data_dir=folder, database_url=database.url))
    registry.register(collector)
    try:
        page = generate_latest(registry).decode()
    finally:
        collector.close()
        database.dispose()
    return {family.name for family in text_string_to_metric_families(page)}


def metric_names(expression: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers not followed by '(' nor inside {} or
    a by/without list, and not PromQL keywords)."""
    bare = re.sub(r"\{[^}]*\}|\b(by|without|on|ignoring)\s*\([^)]*\)|\[[^\]]*\]", " ", expression)
    bare = re.sub(r'"[^"]*"', " ", bare)
    words = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare))
    return words - {"and", "or", "unless", "offset", "bool", "le"} - {
        w for w in words if re.fullmatch(r"\d+[smhdwy]?", w)}


def histogram_base(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def test_prometheus_config_and_rules_pass_promtool():
    promtool("check", "config", "prometheus.yml")
    promtool("check", "rules", "alerts.yml")


def test_alert_rules_fire_as_their_unit_tests_say():
    output = promtool("test", "rules", "alerts.test.yml")
    assert "SUCCESS" in output


def test_rules_use_only_metrics_that_exist(exported_metrics):
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    used = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            used |= metric_names(rule["expr"])
    unknown = {m for m in used if m not in exported_metrics | recorded | OTHER_METRICS}
    assert not unknown, f"alerts.yml uses metrics nobody serves: {unknown}"


def test_every_dashboard_query_is_valid_promql_over_served_metrics(tmp_path, exported_metrics):
    dashboard = json.loads((GRAFANA / "dashboards" / "aima.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert expressions
    # promtool checks PromQL in rule files: each query becomes a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(expressions)]}]}
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    promtool("check", "rules", "queries.yml", cwd=tmp_path)
    used = {histogram_base(m) for e in expressions for m in metric_names(e)}
    assert not used - exported_metrics - OTHER_METRICS, used - exported_metrics - OTHER_METRICS


def test_the_dashboard_reads_the_provisioned_data_source():
    provisioning = GRAFANA / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    source = sources["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    dashboard = json.loads((GRAFANA / "dashboards" / "aima.json").read_text())
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert all(t["datasource"]["uid"] == source["uid"] for t in panel["targets"])
    providers = yaml.safe_load((provisioning / "dashboards" / "aima.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
