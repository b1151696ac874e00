#!/usr/bin/env python3
"""Validates rendered manifests (the output of `kubectl kustomize`) offline.

Usage: validate.py [--kubernetes-version X.Y ...] FILE...

- Built-in kinds: kubernetes-validate's schemas for each given Kubernetes version, strict
  (an unknown field is an error, as `kubectl apply --validate=strict` would make it).
- Custom resources: the CRD schemas kept in schemas/ (CloudNativePG's `Cluster`), made
  strict the same way: an object schema that lists its properties and does not preserve
  unknown fields rejects any other field (the API server would silently prune it).
- A kind with no schema is an error, never a skip: nothing goes unvalidated.
- No Secret may be rendered: Secrets are created by the platform team and only referenced.
"""
import argparse
import copy
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = pathlib.Path(__file__).parent / "schemas"


def strict(schema):
    """A copy of an OpenAPI v3 (structural CRD) schema that rejects unknown fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node
                    and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            # OpenAPI's `nullable: true` is JSON Schema's `null` among the types.
            if node.get("nullable") and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def custom_resource_validators():
    validators = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        doc = json.loads(path.read_text())
        schema = strict(doc["schema"])
        validators[(f"{doc['group']}/{doc['version']}", doc["kind"])] = (
            jsonschema.Draft7Validator(schema), path.name)
    return validators


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes-version", action="append", default=[])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    versions = args.kubernetes_version or [kubernetes_validate.utils.latest_version()]
    custom = custom_resource_validators()
    errors = 0
    checked = 0
    for filename in args.files:
        for doc in yaml.safe_load_all(open(filename)):
            if not doc:
                continue
            name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            key = (doc.get("apiVersion"), doc.get("kind"))
            checked += 1
            if doc.get("kind") == "Secret":
                print(f"ERROR {filename}: {name}: Secrets are referenced, never rendered")
                errors += 1
                continue
            if key in custom:
                validator, schema_name = custom[key]
                for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                    path = ".".join(str(p) for p in error.path)
                    print(f"ERROR {filename}: {name} ({schema_name}): {path}: {error.message}")
                    errors += 1
                continue
            for version in versions:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = ".".join(str(p) for p in error.path)
                    print(f"ERROR {filename}: {name} (Kubernetes {version}): {path}: {error.message}")
                    errors += 1
                except kubernetes_validate.SchemaNotFoundError as error:
                    print(f"ERROR {filename}: {name}: no schema: {error.message}")
                    errors += 1
    print(f"validate: {checked} resources in {len(args.files)} file(s), "
          f"Kubernetes {', '.join(versions)}, {errors} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
