#!/usr/bin/env python3
"""Checks deploy/ offline (run by `make k8s-lint`).

Usage: check.py PROMTOOL

- grafana/*.json: valid JSON, unique panel ids, every query names the data source
  variable, and every PromQL expression parses: Grafana's variables are replaced by sample
  values and the expressions checked by `promtool check rules` as recording rules.
- otel-collector/config.yaml: every component a pipeline names is defined, and every
  defined receiver, processor and exporter is used.
The alert rules themselves are checked by `promtool check rules` and `promtool test rules`
in the Makefile.
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).parent
SAMPLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${datasource}": "prometheus",
    "$namespace": "aftercare",
    "$app": "tickets",
}


def panels(items):
    for item in items:
        yield item
        yield from panels(item.get("panels", []))


def check_dashboard(path, promtool):
    errors = []
    dashboard = json.loads(path.read_text())
    ids = [p["id"] for p in panels(dashboard["panels"])]
    if len(ids) != len(set(ids)):
        errors.append(f"{path}: duplicate panel ids")
    rules = []
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") != "${datasource}":
                errors.append(f"{path}: panel {panel['title']!r} does not use the datasource variable")
            expr = target["expr"]
            for variable, value in SAMPLES.items():
                expr = expr.replace(variable, value)
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            inner = query[len("label_values("):].rsplit(",", 1)[0]
            for name, value in SAMPLES.items():
                inner = inner.replace(name, value)
            rules.append({"record": f"dashboard:variable_{variable['name']}", "expr": inner})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    result = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    pathlib.Path(f.name).unlink()
    if result.returncode != 0:
        errors.append(f"{path}: a query does not parse:\n{result.stdout}{result.stderr}")
    print(f"check: {path.relative_to(HERE.parent)}: {len(ids)} panels, {len(rules)} queries")
    return errors


def check_collector(path):
    errors = []
    config = yaml.safe_load(path.read_text())
    used = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipeline in config["service"]["pipelines"].items():
        for kind in used:
            for component in pipeline.get(kind, []):
                used[kind].add(component)
                if component not in (config.get(kind) or {}):
                    errors.append(f"{path}: pipeline {name} uses undefined {kind[:-1]} {component}")
    for kind, names in used.items():
        for component in config.get(kind) or {}:
            if component not in names:
                errors.append(f"{path}: {kind[:-1]} {component} is defined but unused")
    for extension in config["service"].get("extensions", []):
        if extension not in (config.get("extensions") or {}):
            errors.append(f"{path}: undefined extension {extension}")
    print(f"check: {path.relative_to(HERE.parent)}: {len(config['service']['pipelines'])} pipelines")
    return errors


def main():
    promtool = sys.argv[1]
    errors = []
    for path in sorted((HERE / "grafana").glob("*.json")):
        errors += check_dashboard(path, promtool)
    errors += check_collector(HERE / "otel-collector" / "config.yaml")
    for error in errors:
        print(f"ERROR {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
