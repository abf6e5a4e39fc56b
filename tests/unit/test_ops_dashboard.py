"""The shipped Grafana dashboard and Prometheus scrape config read series the code really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import workers.bridge.metrics  # noqa: F401  (registers the bridge's metrics)
import workers.metrics  # noqa: F401
import workers.tasks.metrics  # noqa: F401

OPS = Path(__file__).resolve().parents[2] / "ops"


def exported_series() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            names.add(sample.name)
        names.add(metric.name)
        if metric.type == "counter":
            names.add(metric.name + "_total")
        if metric.type == "histogram":
            names.update(metric.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def test_every_series_the_dashboard_reads_is_exported() -> None:
    dashboard = json.loads((OPS / "grafana" / "contract-workers.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\b(contract_[a-z_]+)", e)}
    assert used, "the dashboard reads no series"
    missing = used - exported_series()
    assert not missing, missing
    assert {p["id"] for p in dashboard["panels"]} == set(range(1, len(dashboard["panels"]) + 1))


def test_the_scrape_config_targets_the_worker_and_the_bridge() -> None:
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"127.0.0.1:9464", "127.0.0.1:8090"}
