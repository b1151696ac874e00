#!/usr/bin/env python3
"""Refreshes schemas/postgresql.cnpg.io_v1_cluster.json from a CloudNativePG release.

Usage: vendor-cnpg-schema.py RELEASE CRD_FILE
  RELEASE   the operator release the CRD comes from (v1.30.0), recorded in the schema
  CRD_FILE  that release's config/crd/bases/postgresql.cnpg.io_clusters.yaml (or the
            Cluster document of its cnpg-<release>.yaml manifest)

Keeps spec.versions[v1].schema.openAPIV3Schema verbatim, minus .properties.status (the
operator writes it, manifests never do).
"""
import json
import pathlib
import sys

import yaml


def main() -> None:
    release, crd_file = sys.argv[1], sys.argv[2]
    docs = [d for d in yaml.safe_load_all(open(crd_file)) if d]
    crd = next(d for d in docs if d.get("kind") == "CustomResourceDefinition"
               and d["metadata"]["name"] == "clusters.postgresql.cnpg.io")
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = version["schema"]["openAPIV3Schema"]
    schema["properties"].pop("status", None)
    out = {
        "$comment": f"CloudNativePG {release} CustomResourceDefinition clusters.postgresql.cnpg.io, "
                    "version v1: spec.versions[v1].schema.openAPIV3Schema, verbatim except "
                    ".properties.status (written by the operator) removed. Regenerate with "
                    "k8s/lint/vendor-cnpg-schema.py when the operator is upgraded.",
        "group": crd["spec"]["group"],
        "version": "v1",
        "kind": crd["spec"]["names"]["kind"],
        "schema": schema,
    }
    target = pathlib.Path(__file__).parent / "schemas" / "postgresql.cnpg.io_v1_cluster.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
