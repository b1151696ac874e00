//! The OpenAPI 3 document of the REST mapping, generated from the contracts: one operation
//! per binding, the JSON schema of every message reachable from them.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value, json};

use super::RestRoute;

/// The document for `routes`.
pub fn document(routes: &[RestRoute]) -> Value {
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    let mut pending: Vec<MessageDescriptor> = Vec::new();
    for route in routes {
        let (path, path_parameters) = route.template.openapi();
        let mut parameters: Vec<Value> = path_parameters
            .iter()
            .map(|(name, field)| {
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string"},
                    "description": format!("A segment of `{field}` ({})", route.source),
                })
            })
            .collect();
        let input = route.method.input();
        if route.body.is_none() {
            let bound: BTreeSet<&str> = path_parameters.iter().map(|(_, f)| f.as_str()).collect();
            for field in input.fields() {
                if bound.contains(field.name()) || field.is_map() {
                    continue;
                }
                if matches!(field.kind(), Kind::Message(ref m) if !is_scalar_like(m)) {
                    continue;
                }
                parameters.push(json!({
                    "name": field.json_name(),
                    "in": "query",
                    "required": false,
                    "schema": field_schema(&field, &mut pending),
                }));
            }
        }
        let mut operation = json!({
            "operationId": format!("{}.{}", route.method.parent_service().name(), route.method.name()),
            "tags": [route.method.parent_service().full_name()],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": reference(&route.method.output(), &mut pending)}},
                },
                "default": {
                    "description": "An error, with its gRPC code and details",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        });
        if route.method.is_server_streaming() {
            operation["description"] = json!("Streams: call it over gRPC or gRPC-Web.");
        }
        if let Some(body) = &route.body {
            let schema = if body == "*" {
                reference(&input, &mut pending)
            } else {
                input
                    .get_field_by_name(body)
                    .map_or(json!({}), |field| field_schema(&field, &mut pending))
            };
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}},
            });
        }
        paths
            .entry(path)
            .or_default()
            .insert(route.verb.as_str().to_ascii_lowercase(), operation);
    }
    let mut schemas = serde_json::Map::new();
    schemas.insert(
        "Error".to_owned(),
        json!({
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "integer", "description": "The HTTP status"},
                "grpcCode": {"type": "integer", "description": "The gRPC status code"},
                "status": {"type": "string", "description": "The gRPC status name (NOT_FOUND)"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            }}},
        }),
    );
    while let Some(message) = pending.pop() {
        if schemas.contains_key(message.full_name()) {
            continue;
        }
        let mut properties = serde_json::Map::new();
        for field in message.fields() {
            properties.insert(
                field.json_name().to_owned(),
                field_schema(&field, &mut pending),
            );
        }
        schemas.insert(
            message.full_name().to_owned(),
            json!({"type": "object", "properties": properties}),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Aftercare",
            "version": "v1",
            "description": "REST/JSON mapping of the Aftercare gRPC contracts (google.api.http). Authenticate with `Authorization: Bearer <token>` or `x-api-key`.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
    })
}

fn reference(message: &MessageDescriptor, pending: &mut Vec<MessageDescriptor>) -> Value {
    if let Some(schema) = well_known(message) {
        return schema;
    }
    pending.push(message.clone());
    json!({"$ref": format!("#/components/schemas/{}", message.full_name())})
}

fn is_scalar_like(message: &MessageDescriptor) -> bool {
    well_known(message).is_some_and(|schema| schema["type"] != "object")
}

/// Schemas of the well-known types, as the protobuf JSON mapping writes them.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "example": "1.5s"}),
        "google.protobuf.FieldMask" => json!({"type": "string", "example": "displayName,tier"}),
        "google.protobuf.Struct" | "google.protobuf.Any" | "google.protobuf.Empty" => {
            json!({"type": "object"})
        }
        "google.protobuf.Value" => json!({}),
        "google.protobuf.StringValue" | "google.protobuf.BytesValue" => json!({"type": "string"}),
        "google.protobuf.BoolValue" => json!({"type": "boolean"}),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => {
            json!({"type": "integer"})
        }
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => {
            json!({"type": "string", "format": "int64"})
        }
        "google.protobuf.FloatValue" | "google.protobuf.DoubleValue" => json!({"type": "number"}),
        _ => return None,
    })
}

fn kind_schema(kind: &Kind, pending: &mut Vec<MessageDescriptor>) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int64", "minimum": 0}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "string", "format": "int64"})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::Enum(descriptor) => json!({
            "type": "string",
            "enum": descriptor.values().map(|v| v.name().to_owned()).collect::<Vec<_>>(),
        }),
        Kind::Message(message) => reference(message, pending),
    }
}

fn field_schema(field: &FieldDescriptor, pending: &mut Vec<MessageDescriptor>) -> Value {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return json!({"type": "object"});
        };
        let value = entry.map_entry_value_field();
        return json!({"type": "object", "additionalProperties": kind_schema(&value.kind(), pending)});
    }
    let schema = kind_schema(&field.kind(), pending);
    if field.is_list() {
        json!({"type": "array", "items": schema})
    } else {
        schema
    }
}
