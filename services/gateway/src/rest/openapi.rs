//! The OpenAPI 3.0 document of the REST mapping, generated from the contracts: one operation
//! per `google.api.http` binding, and the JSON schema of every message reachable from them,
//! carrying what the protos declare (`google.api.field_behavior`, enums, the JSON mapping of
//! the scalar and well-known types, resource-name segments, page-size bounds) and the error
//! body with its `google.rpc` details.
//!
//! Messages used both in requests and in responses get separate schemas, because the protobuf
//! JSON mapping omits fields that have their default value: a response schema (the message's
//! full name, e.g. `aftercare.tickets.v1.Ticket`) lists no `required` field and accepts what the
//! gateway writes (enum names, int64 as strings); a request schema (`…Ticket-Input`) lists the
//! `REQUIRED` fields as `required` (non-empty strings and lists; an enum other than its
//! `_UNSPECIFIED` zero) and what the transcoder accepts (enum names or numbers). The resource of
//! an update under a field mask (`…Ticket-Patch`) requires nothing: only the masked fields
//! matter. `OUTPUT_ONLY` fields are `readOnly` in both, `INPUT_ONLY` fields `writeOnly`.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{
    DescriptorPool, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor, Value as Field,
};
use serde_json::{Map, Value, json};

use super::RestRoute;
use super::rules::{self, RuleReader, Rules};

/// The `google.api.field_behavior` extension of `google.protobuf.FieldOptions`.
const FIELD_BEHAVIOR: &str = "google.api.field_behavior";

/// `google.api.FieldBehavior` values.
const OPTIONAL: i32 = 1;
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;
const INPUT_ONLY: i32 = 4;
const IMMUTABLE: i32 = 5;
const IDENTIFIER: i32 = 8;

/// A path parameter: one segment of a resource name (`tickets/{tickets_id}`). Every service
/// names its resources `{collection}/{uuid}` (the platform's `resource_id` and `child_id`),
/// the UUID written in lowercase with hyphens; anything else is INVALID_ARGUMENT.
pub const SEGMENT_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// A `google.protobuf.Duration` as the JSON mapping writes it.
pub const DURATION_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?s$";

/// A duration the JSON mapping reads: at most 315,576,000,000 s and nanosecond precision.
const DURATION_INPUT_PATTERN: &str = r"^-?[0-9]{1,11}(\.[0-9]{1,9})?s$";

/// A `google.protobuf.FieldMask`: comma-separated lowerCamelCase paths, or `*`.
const FIELD_MASK_PATTERN: &str = r"^(\*|[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)*(,[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)*)*)$";

/// The HTTP status and gRPC code a server-streaming method answers over REST.
const STREAMING_STATUS: &str = "501";

/// The `google.rpc` details an error body may carry, as the gateway writes them.
const ERROR_DETAILS: [&str; 7] = [
    "BadRequest",
    "PreconditionFailure",
    "ResourceInfo",
    "RetryInfo",
    "ErrorInfo",
    "QuotaFailure",
    "LocalizedMessage",
];

/// The gRPC code names, by number.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Which side of the call a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// What the gateway answers: no `required`, enum names.
    Response,
    /// What a request carries: `required` from `REQUIRED`, enum names or numbers.
    Request,
    /// The resource of an update under a field mask: nothing required.
    Patch,
}

impl Side {
    fn is_request(self) -> bool {
        self != Self::Response
    }

    fn component(self, message: &MessageDescriptor) -> String {
        match self {
            Self::Response => message.full_name().to_owned(),
            Self::Request => format!("{}-Input", message.full_name()),
            Self::Patch => format!("{}-Patch", message.full_name()),
        }
    }
}

/// What a field's `google.api.field_behavior` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Behaviour {
    required: bool,
    output_only: bool,
    input_only: bool,
    immutable: bool,
    identifier: bool,
}

/// Builds the schemas, collecting the messages they refer to.
struct Schemas {
    extension: Option<ExtensionDescriptor>,
    rules: Option<RuleReader>,
    pending: Vec<(MessageDescriptor, Side)>,
}

/// The document for `routes`.
pub fn document(routes: &[RestRoute]) -> Value {
    let extension = routes
        .first()
        .and_then(|route| behaviour_extension(route.method.parent_pool()));
    let mut schemas = Schemas {
        extension,
        rules: routes
            .first()
            .map(|route| RuleReader::new(route.method.parent_pool())),
        pending: Vec::new(),
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut operation_ids: BTreeMap<String, usize> = BTreeMap::new();
    for route in routes {
        let (path, mut operation) = schemas.operation(route);
        // A method with additional bindings has one operation per binding: `…_2`, `…_3`.
        if let Some(id) = operation["operationId"].as_str().map(str::to_owned) {
            let seen = operation_ids.entry(id.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                operation["operationId"] = json!(format!("{id}_{seen}"));
            }
        }
        paths
            .entry(path)
            .or_default()
            .insert(route.verb.as_str().to_ascii_lowercase(), operation);
    }
    let mut components = error_schemas();
    components.insert(
        rules::TIME_ZONE_COMPONENT.into(),
        rules::time_zone_schema(false),
    );
    components.insert(
        rules::OPTIONAL_TIME_ZONE_COMPONENT.into(),
        rules::time_zone_schema(true),
    );
    while let Some((message, side)) = schemas.pending.pop() {
        let name = side.component(&message);
        if components.contains_key(&name) {
            continue;
        }
        let schema = schemas.message(&message, side, &BTreeSet::new());
        components.insert(name, schema);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Aftercare",
            "version": "v1",
            "description": "REST/JSON mapping of the Aftercare gRPC contracts (google.api.http), \
                with the protobuf JSON mapping: lowerCamelCase field names, int64 as strings, \
                enums by name (requests may also give their numbers), RFC 3339 timestamps, \
                durations in seconds (`1.5s`), fields at their default value omitted from \
                answers. Authenticate with `Authorization: Bearer <token>` or `x-api-key`. \
                Errors are `{\"error\": {code, grpcCode, status, message, details}}` with \
                google.rpc details. Server-streaming methods are available over gRPC and \
                gRPC-Web only; over REST they answer 501 UNIMPLEMENTED.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
    })
}

/// The `google.api.field_behavior` extension, when the contracts import it.
fn behaviour_extension(pool: &DescriptorPool) -> Option<ExtensionDescriptor> {
    pool.get_extension_by_name(FIELD_BEHAVIOR)
}

impl Schemas {
    fn behaviour(&self, field: &FieldDescriptor) -> Behaviour {
        let mut behaviour = Behaviour::default();
        let Some(extension) = &self.extension else {
            return behaviour;
        };
        let options = field.options();
        if !options.has_extension(extension) {
            return behaviour;
        }
        if let Field::List(values) = options.get_extension(extension).as_ref() {
            for value in values {
                match value.as_enum_number() {
                    Some(REQUIRED) => behaviour.required = true,
                    Some(OUTPUT_ONLY) => behaviour.output_only = true,
                    Some(INPUT_ONLY) => behaviour.input_only = true,
                    Some(IMMUTABLE) => behaviour.immutable = true,
                    Some(IDENTIFIER) => behaviour.identifier = true,
                    Some(OPTIONAL) | Some(_) | None => {}
                }
            }
        }
        behaviour
    }

    /// The OpenAPI path of `route` and its operation.
    fn operation(&mut self, route: &RestRoute) -> (String, Value) {
        let (path, path_parameters) = route.template.openapi();
        let service = route.method.parent_service();
        let operation_id = format!("{}.{}", service.name(), route.method.name());
        let mut parameters: Vec<Value> = path_parameters
            .iter()
            .map(|(name, field)| {
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string", "pattern": SEGMENT_PATTERN},
                    "description": format!(
                        "A segment of `{field}` ({}): a resource id, a lowercase UUID",
                        route.source
                    ),
                })
            })
            .collect();
        let input = route.method.input();
        let bound: BTreeSet<&str> = path_parameters.iter().map(|(_, f)| f.as_str()).collect();
        if route.method.is_server_streaming() || route.method.is_client_streaming() {
            let operation = json!({
                "operationId": operation_id,
                "tags": [service.full_name()],
                "summary": format!("{} (streaming: not available over REST)", route.method.name()),
                "description": format!(
                    "`{}` is a stream: call it over gRPC or gRPC-Web. Over REST the gateway \
                     answers every call of this path {STREAMING_STATUS} with gRPC status \
                     UNIMPLEMENTED, before authentication and without reading the request.",
                    route.method.full_name()
                ),
                "x-aftercare-streaming": true,
                "parameters": parameters,
                "responses": {
                    STREAMING_STATUS: {
                        "description": "UNIMPLEMENTED: the method streams, which REST does not carry",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            });
            return (path, operation);
        }
        // Fields not bound by the path or carried in the body are query parameters.
        let update = is_masked_update(&input);
        if route.body.as_deref() != Some("*") {
            for field in input.fields() {
                if bound.contains(field.name())
                    || route.body.as_deref() == Some(field.name())
                    || field.is_map()
                {
                    continue;
                }
                if matches!(field.kind(), Kind::Message(ref m) if !is_scalar_like(m)) {
                    continue;
                }
                let behaviour = self.behaviour(&field);
                if behaviour.output_only {
                    continue;
                }
                let mut schema = self.field(&field, Side::Request, behaviour);
                if update && field.name() == "update_mask" {
                    // The paths a masked update takes: its resource's fields a client sets.
                    if let Some(resource) = input
                        .fields()
                        .find(|f| is_resource_of_update(&input, f))
                        .and_then(|f| f.kind().as_message().cloned())
                    {
                        schema["pattern"] = json!(self.mask_pattern(&resource));
                    }
                }
                let mut parameter = json!({
                    "name": field.json_name(),
                    "in": "query",
                    "required": behaviour.required,
                    "schema": schema,
                });
                if field.is_list() {
                    parameter["style"] = json!("form");
                    parameter["explode"] = json!(true);
                }
                parameters.push(parameter);
            }
        }
        let mut operation = json!({
            "operationId": operation_id,
            "tags": [service.full_name()],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": self.response(route)}},
                },
                "default": {
                    "description": "An error, with its gRPC code and details",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        });
        if let Some(body) = &route.body {
            let schema = if body == "*" {
                let excluded: BTreeSet<String> = bound
                    .iter()
                    .filter(|f| !f.contains('.'))
                    .map(|f| (*f).to_owned())
                    .collect();
                if excluded.is_empty() {
                    self.reference(&input, Side::Request)
                } else {
                    self.message(&input, Side::Request, &excluded)
                }
            } else if let Some(field) = input.get_field_by_name(body) {
                let side = if update { Side::Patch } else { Side::Request };
                let prefix = format!("{body}.");
                let excluded: BTreeSet<String> = bound
                    .iter()
                    .filter_map(|f| f.strip_prefix(&prefix))
                    .filter(|f| !f.contains('.'))
                    .map(str::to_owned)
                    .collect();
                match field.kind() {
                    Kind::Message(message)
                        if !excluded.is_empty() && well_known(&message, side).is_none() =>
                    {
                        self.message(&message, side, &excluded)
                    }
                    _ => self.field(&field, side, Behaviour::default()),
                }
            } else {
                json!({})
            };
            // The transcoder reads an absent or empty body as `{}`, which is enough unless the
            // body has a required field.
            let required = self.body_requires_something(route, &input, &bound);
            operation["requestBody"] = json!({
                "required": required,
                "description": if required {
                    "JSON"
                } else {
                    "JSON; an absent or empty body is read as `{}`"
                },
                "content": {"application/json": {"schema": schema}},
            });
        }
        (path, operation)
    }

    /// Whether the body of `route` has a field a request must give (the path's `bound` fields
    /// aside): then an absent body is refused, so the body is required.
    fn body_requires_something(
        &self,
        route: &RestRoute,
        input: &MessageDescriptor,
        bound: &BTreeSet<&str>,
    ) -> bool {
        let requires = |message: &MessageDescriptor, prefix: &str, patch: bool| {
            message.fields().any(|field| {
                let behaviour = self.behaviour(&field);
                let is_etag = field.name() == "etag" && matches!(field.kind(), Kind::String);
                let given =
                    (behaviour.required && !behaviour.output_only && !patch) || (patch && is_etag);
                given && !bound.contains(format!("{prefix}{}", field.name()).as_str())
            })
        };
        match route.body.as_deref() {
            Some("*") => requires(input, "", false),
            Some(body) => input.get_field_by_name(body).is_some_and(|field| {
                let behaviour = self.behaviour(&field);
                match field.kind() {
                    Kind::Message(message) if well_known(&message, Side::Request).is_none() => {
                        let patch = is_masked_update(input);
                        behaviour.required || requires(&message, &format!("{body}."), patch)
                    }
                    _ => behaviour.required,
                }
            }),
            None => false,
        }
    }

    /// The `update_mask` of an update of `resource`: `*`, or a comma-separated list of the
    /// resource's fields a client sets (not output only, immutable or its name).
    fn mask_pattern(&self, resource: &MessageDescriptor) -> String {
        let names: Vec<String> = resource
            .fields()
            .filter(|field| {
                let behaviour = self.behaviour(field);
                !(behaviour.output_only
                    || behaviour.immutable
                    || behaviour.identifier
                    || field.name() == "etag")
            })
            .map(|field| field.json_name().to_owned())
            .collect();
        if names.is_empty() {
            return FIELD_MASK_PATTERN.to_owned();
        }
        let one = format!("(?:{})", names.join("|"));
        format!("^(\\*|{one}(,{one})*)$")
    }

    /// The schema of a successful answer of `route` (its `response_body` field, if any).
    fn response(&mut self, route: &RestRoute) -> Value {
        let output = route.method.output();
        match route
            .response_body
            .as_deref()
            .and_then(|name| output.get_field_by_name(name))
        {
            Some(field) => {
                let behaviour = self.behaviour(&field);
                self.field(&field, Side::Response, behaviour)
            }
            None => self.reference(&output, Side::Response),
        }
    }

    /// The object schema of `message` on `side`, without the fields in `excluded` (bound by
    /// the path).
    fn message(
        &mut self,
        message: &MessageDescriptor,
        side: Side,
        excluded: &BTreeSet<String>,
    ) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let update = side.is_request() && is_masked_update(message);
        for field in message.fields() {
            if excluded.contains(field.name()) {
                continue;
            }
            let mut behaviour = self.behaviour(&field);
            let field_side = match side {
                // The resource of a masked update: only its masked fields matter.
                Side::Request if update && is_resource_of_update(message, &field) => Side::Patch,
                other => other,
            };
            let is_etag = field.name() == "etag" && matches!(field.kind(), Kind::String);
            if side == Side::Patch && is_etag {
                // An update is checked against the version read: every service requires the
                // resource's etag back, even where the resource declares it output only.
                behaviour = Behaviour {
                    required: true,
                    ..Behaviour::default()
                };
            }
            let required_here = behaviour.required
                && !behaviour.output_only
                && (side == Side::Request || (side == Side::Patch && is_etag));
            let mut schema = if side == Side::Patch && is_etag {
                json!({"type": "string", "minLength": 1})
            } else {
                self.field(&field, field_side, behaviour)
            };
            annotate(&mut schema, behaviour, side);
            if required_here {
                required.push(Value::String(field.json_name().to_owned()));
            } else if side.is_request() {
                // The JSON mapping reads `null` as the field's default.
                allow_null(&mut schema);
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut schema = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            schema["required"] = Value::Array(required);
        }
        if side.is_request() {
            // The transcoder refuses unknown fields (INVALID_ARGUMENT).
            schema["additionalProperties"] = json!(false);
            // And more than one member of a oneof set (`null` counts as not set).
            let exclusive = exclusive_members(message, excluded);
            if !exclusive.is_empty() {
                schema["not"] = json!({"anyOf": exclusive});
            }
        }
        schema
    }

    fn reference(&mut self, message: &MessageDescriptor, side: Side) -> Value {
        if let Some(schema) = well_known(message, side) {
            return schema;
        }
        self.pending.push((message.clone(), side));
        json!({"$ref": format!("#/components/schemas/{}", side.component(message))})
    }

    fn kind(&mut self, kind: &Kind, side: Side, required: bool) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"type": "number"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({
                "type": "integer", "format": "int32",
                "minimum": i32::MIN, "maximum": i32::MAX,
            }),
            Kind::Uint32 | Kind::Fixed32 => json!({
                "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX,
            }),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => int64(side, true),
            Kind::Uint64 | Kind::Fixed64 => int64(side, false),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => {
                if side == Side::Request && required {
                    json!({"type": "string", "minLength": 1})
                } else {
                    json!({"type": "string"})
                }
            }
            Kind::Bytes => json!({"type": "string", "format": "byte"}),
            Kind::Enum(descriptor) => {
                let values: Vec<_> = descriptor
                    .values()
                    .filter(|v| !(side == Side::Request && required && v.number() == 0))
                    .collect();
                let names: Vec<&str> = values.iter().map(|v| v.name()).collect();
                if side.is_request() {
                    let numbers: Vec<i32> = values.iter().map(|v| v.number()).collect();
                    json!({
                        "oneOf": [
                            {"type": "string", "enum": names},
                            {"type": "integer", "format": "int32", "enum": numbers},
                        ],
                        "description": format!("{}: a value's name, or its number", descriptor.full_name()),
                    })
                } else {
                    json!({"type": "string", "enum": names})
                }
            }
            Kind::Message(message) => self.reference(message, side),
        }
    }

    fn field(&mut self, field: &FieldDescriptor, side: Side, behaviour: Behaviour) -> Value {
        let required = behaviour.required && !behaviour.output_only;
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return json!({"type": "object"});
            };
            let value = entry.map_entry_value_field();
            let mut schema = json!({
                "type": "object",
                "additionalProperties": self.kind(&value.kind(), side, false),
            });
            if side == Side::Request && required {
                schema["minProperties"] = json!(1);
            }
            return schema;
        }
        let mut schema = self.kind(&field.kind(), side, required && !field.is_list());
        if field.name() == "page_size" && matches!(field.kind(), Kind::Int32) {
            schema["minimum"] = json!(0);
            schema["description"] = json!(
                "At most this many items; 0 for the method's default. Larger values are clamped to the method's maximum."
            );
        }
        // What a request's value must keep beyond its type: only requests are checked.
        let rules = side.is_request().then(|| self.rules_of(field)).flatten();
        if field.is_list() {
            let mut list = json!({"type": "array", "items": schema});
            if side == Side::Request && required {
                list["minItems"] = json!(1);
            }
            if let Some(rules) = rules {
                rules.apply_to_list(&mut list);
            }
            list
        } else {
            if let Some(rules) = rules {
                rules.apply(&mut schema, side == Side::Request && required);
            }
            schema
        }
    }

    /// The rules of `field`'s value: its `aftercare.api.v1.field_rules`, and for a
    /// `request_id` the platform's one format of idempotency keys (a UUID).
    fn rules_of(&self, field: &FieldDescriptor) -> Option<Rules> {
        let declared = self.rules.as_ref().and_then(|reader| reader.of(field));
        if declared.is_none()
            && field.name() == "request_id"
            && matches!(field.kind(), Kind::String)
        {
            return Some(Rules::uuid());
        }
        declared
    }
}

/// Lets `schema` be `null` too (OpenAPI 3.0 `nullable`; a `$ref` is wrapped in `allOf`, and
/// an `enum` lists `null`).
fn allow_null(schema: &mut Value) {
    if schema.as_object().is_none_or(Map::is_empty) {
        return;
    }
    if schema.get("$ref").is_some() {
        let inner = schema.take();
        *schema = json!({"allOf": [inner]});
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
    schema["nullable"] = json!(true);
}

/// For each pair of members of a (non-synthetic) oneof of `message`, a schema matching an
/// object that sets both (neither `null`): what the transcoder refuses.
fn exclusive_members(message: &MessageDescriptor, excluded: &BTreeSet<String>) -> Vec<Value> {
    let mut pairs = Vec::new();
    for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
        let members: Vec<String> = oneof
            .fields()
            .filter(|f| !excluded.contains(f.name()))
            .map(|f| f.json_name().to_owned())
            .collect();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                let set = json!({"not": {"enum": [null]}});
                pairs.push(json!({
                    "required": [a, b],
                    "properties": {a.as_str(): set.clone(), b.as_str(): set},
                }));
            }
        }
    }
    pairs
}

/// A 64-bit integer: the JSON mapping writes a string of digits; a request may also give a
/// JSON number. A request's digits are bounded so that every value fits 64 bits.
fn int64(side: Side, signed: bool) -> Value {
    let (format, pattern) = match (side.is_request(), signed) {
        (true, true) => ("int64", "^-?[0-9]{1,18}$"),
        (true, false) => ("uint64", "^[0-9]{1,19}$"),
        (false, true) => ("int64", "^-?[0-9]+$"),
        (false, false) => ("uint64", "^[0-9]+$"),
    };
    let text = json!({"type": "string", "format": format, "pattern": pattern});
    if !side.is_request() {
        return text;
    }
    let number = if signed {
        json!({"type": "integer", "format": "int64"})
    } else {
        json!({"type": "integer", "format": "int64", "minimum": 0})
    };
    json!({"oneOf": [text, number]})
}

/// Marks `schema` with what the field's behaviour says. A `$ref` cannot carry siblings in
/// OpenAPI 3.0, so a referenced schema is wrapped in `allOf`.
fn annotate(schema: &mut Value, behaviour: Behaviour, side: Side) {
    let mut notes = Map::new();
    if behaviour.output_only {
        notes.insert("readOnly".into(), json!(true));
    }
    if behaviour.input_only {
        notes.insert("writeOnly".into(), json!(true));
    }
    let mut said = Vec::new();
    if behaviour.output_only {
        said.push("Output only: set by the service, ignored in requests.");
    }
    if behaviour.immutable {
        said.push("Immutable: set when the resource is created, not changed after.");
    }
    if behaviour.identifier {
        said.push("The resource's name: set by the service on create; identifies the resource in updates.");
    }
    if behaviour.required && side == Side::Patch {
        said.push("Required when the resource is created.");
    }
    if !said.is_empty() {
        notes.insert("description".into(), json!(said.join(" ")));
    }
    if notes.is_empty() {
        return;
    }
    if schema.get("$ref").is_some() {
        let inner = schema.take();
        let mut wrapped = json!({"allOf": [inner]});
        for (key, value) in notes {
            wrapped[key] = value;
        }
        *schema = wrapped;
    } else if let Some(object) = schema.as_object_mut() {
        for (key, value) in notes {
            if key == "description"
                && let Some(Value::String(existing)) = object.get("description")
            {
                let joined = format!("{existing}. {}", value.as_str().unwrap_or_default());
                object.insert(key, json!(joined));
            } else {
                object.insert(key, value);
            }
        }
    }
}

/// True when `message` is an update request under a field mask (`update_mask`).
fn is_masked_update(message: &MessageDescriptor) -> bool {
    message.get_field_by_name("update_mask").is_some_and(|field| {
        matches!(field.kind(), Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask")
    })
}

/// True when `field` of the update request `message` is the resource being updated.
fn is_resource_of_update(message: &MessageDescriptor, field: &FieldDescriptor) -> bool {
    is_masked_update(message)
        && !field.is_list()
        && matches!(field.kind(), Kind::Message(ref m) if well_known(m, Side::Request).is_none())
}

fn is_scalar_like(message: &MessageDescriptor) -> bool {
    well_known(message, Side::Request).is_some_and(|schema| schema["type"] != "object")
}

/// Schemas of the well-known types, as the protobuf JSON mapping writes and reads them.
fn well_known(message: &MessageDescriptor, side: Side) -> Option<Value> {
    let request = side.is_request();
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            let pattern = if request {
                DURATION_INPUT_PATTERN
            } else {
                DURATION_PATTERN
            };
            json!({"type": "string", "pattern": pattern, "example": "1.5s"})
        }
        "google.protobuf.FieldMask" => {
            if request {
                json!({"type": "string", "pattern": FIELD_MASK_PATTERN, "example": "displayName,tier"})
            } else {
                json!({"type": "string", "example": "displayName,tier"})
            }
        }
        "google.protobuf.Struct" | "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "required": ["@type"],
            "properties": {"@type": {"type": "string"}},
        }),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array", "items": {}}),
        "google.protobuf.StringValue" => json!({"type": "string"}),
        "google.protobuf.BytesValue" => json!({"type": "string", "format": "byte"}),
        "google.protobuf.BoolValue" => json!({"type": "boolean"}),
        "google.protobuf.Int32Value" => {
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        "google.protobuf.UInt32Value" => {
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
        }
        "google.protobuf.Int64Value" => int64(side, true),
        "google.protobuf.UInt64Value" => int64(side, false),
        "google.protobuf.FloatValue" | "google.protobuf.DoubleValue" => json!({"type": "number"}),
        _ => return None,
    })
}

/// The error body and the `google.rpc` details, exactly as `transcode::error_body` writes them.
fn error_schemas() -> Map<String, Value> {
    const PREFIX: &str = "type.googleapis.com/google.rpc.";
    let string = || json!({"type": "string"});
    let detail = |name: &str, properties: Value, required: &[&str]| {
        let mut properties = properties;
        properties["@type"] = json!({"type": "string", "enum": [format!("{PREFIX}{name}")]});
        let mut required: Vec<&str> = required.to_vec();
        required.insert(0, "@type");
        json!({
            "type": "object",
            "description": format!("google.rpc.{name}"),
            "required": required,
            "properties": properties,
        })
    };
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "Every failed call's answer: the HTTP status Google APIs use for the gRPC code, and the google.rpc details",
            "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/google.rpc.Status"}},
        }),
    );
    schemas.insert(
        "google.rpc.Status".into(),
        json!({
            "type": "object",
            "required": ["code", "grpcCode", "status", "message", "details"],
            "properties": {
                "code": {"type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status"},
                "grpcCode": {"type": "integer", "minimum": 0, "maximum": 16, "description": "The gRPC status code"},
                "status": {"type": "string", "enum": GRPC_CODES, "description": "The gRPC status name (NOT_FOUND)"},
                "message": string(),
                "details": {"type": "array", "items": {"$ref": "#/components/schemas/google.rpc.Detail"}},
            },
        }),
    );
    let mapping: Map<String, Value> = ERROR_DETAILS
        .iter()
        .map(|name| {
            (
                format!("{PREFIX}{name}"),
                json!(format!("#/components/schemas/google.rpc.{name}")),
            )
        })
        .collect();
    schemas.insert(
        "google.rpc.Detail".into(),
        json!({
            "oneOf": ERROR_DETAILS.iter().map(|name| json!({"$ref": format!("#/components/schemas/google.rpc.{name}")})).collect::<Vec<_>>(),
            "discriminator": {"propertyName": "@type", "mapping": mapping},
        }),
    );
    let violations = |properties: Value, required: &[&str]| json!({"type": "array", "items": {"type": "object", "required": required, "properties": properties}});
    schemas.insert(
        "google.rpc.BadRequest".into(),
        detail(
            "BadRequest",
            json!({"fieldViolations": violations(
                json!({"field": string(), "description": string()}),
                &["field", "description"],
            )}),
            &["fieldViolations"],
        ),
    );
    schemas.insert(
        "google.rpc.PreconditionFailure".into(),
        detail(
            "PreconditionFailure",
            json!({"violations": violations(
                json!({"type": string(), "subject": string(), "description": string()}),
                &["type", "subject", "description"],
            )}),
            &["violations"],
        ),
    );
    schemas.insert(
        "google.rpc.ResourceInfo".into(),
        detail(
            "ResourceInfo",
            json!({"resourceType": string(), "resourceName": string(), "owner": string(), "description": string()}),
            &["resourceType", "resourceName", "owner", "description"],
        ),
    );
    schemas.insert(
        "google.rpc.RetryInfo".into(),
        detail(
            "RetryInfo",
            json!({"retryDelay": {"type": "string", "nullable": true, "pattern": DURATION_PATTERN, "description": "How long to wait before retrying (`0.250s`)"}}),
            &["retryDelay"],
        ),
    );
    schemas.insert(
        "google.rpc.ErrorInfo".into(),
        detail(
            "ErrorInfo",
            json!({
                "reason": string(),
                "domain": string(),
                "metadata": {"type": "object", "additionalProperties": string()},
            }),
            &["reason", "domain", "metadata"],
        ),
    );
    schemas.insert(
        "google.rpc.QuotaFailure".into(),
        detail(
            "QuotaFailure",
            json!({"violations": violations(
                json!({"subject": string(), "description": string()}),
                &["subject", "description"],
            )}),
            &["violations"],
        ),
    );
    schemas.insert(
        "google.rpc.LocalizedMessage".into(),
        detail(
            "LocalizedMessage",
            json!({"locale": string(), "message": string()}),
            &["locale", "message"],
        ),
    );
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        let pool = DescriptorPool::decode(crate::DESCRIPTOR_SET).unwrap();
        let routes = super::super::routes(&pool).unwrap();
        super::document(&routes)
    }

    fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
        let schema = &document["components"]["schemas"][name];
        assert!(schema.is_object(), "no schema {name}");
        schema
    }

    #[test]
    fn required_fields_are_required_in_request_schemas_only() {
        let document = document();
        let input = schema(&document, "aftercare.tickets.v1.Ticket-Input");
        let required: Vec<&str> = input["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["subject", "description"], "{input}");
        assert!(
            input["properties"]["subject"]["pattern"].is_string(),
            "plain text: not blank, said by its pattern"
        );
        let message = schema(&document, "aftercare.tickets.v1.TicketMessage-Input");
        assert_eq!(message["properties"]["body"]["minLength"], 1);
        assert_eq!(message["properties"]["body"]["maxLength"], 50_000);
        assert_eq!(input["additionalProperties"], false);
        let output = schema(&document, "aftercare.tickets.v1.Ticket");
        assert!(output.get("required").is_none(), "{output}");
        assert!(output["properties"]["subject"].get("minLength").is_none());
    }

    #[test]
    fn output_only_fields_are_read_only_on_both_sides() {
        let document = document();
        for name in [
            "aftercare.tickets.v1.Ticket",
            "aftercare.tickets.v1.Ticket-Input",
        ] {
            let ticket = schema(&document, name);
            assert_eq!(ticket["properties"]["number"]["readOnly"], true, "{name}");
            assert_eq!(ticket["properties"]["status"]["readOnly"], true, "{name}");
            assert_eq!(
                ticket["properties"]["classification"]["allOf"][0]["$ref"],
                if name.ends_with("-Input") {
                    "#/components/schemas/aftercare.tickets.v1.Classification-Input"
                } else {
                    "#/components/schemas/aftercare.tickets.v1.Classification"
                },
                "a referenced output-only message is wrapped to carry readOnly"
            );
            assert_eq!(ticket["properties"]["classification"]["readOnly"], true);
            assert!(
                ticket["properties"]
                    .get("subject")
                    .unwrap()
                    .get("readOnly")
                    .is_none()
            );
        }
    }

    #[test]
    fn a_masked_update_requires_only_its_mask() {
        let document = document();
        let patch = &document["paths"]["/v1/tickets/{tickets_id}"]["patch"];
        assert_eq!(
            patch["requestBody"]["content"]["application/json"]["schema"]["properties"]["subject"]
                ["type"],
            "string",
            "the body is the ticket without its path-bound name: {patch}"
        );
        let body = &patch["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(
            body["required"],
            json!(["etag"]),
            "only the version read: {body}"
        );
        assert_eq!(body["properties"]["etag"]["minLength"], 1);
        assert!(body["properties"]["etag"].get("readOnly").is_none());
        assert!(
            body["properties"].get("name").is_none(),
            "the name comes from the path"
        );
        let mask = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "updateMask")
            .expect("the mask is a query parameter");
        assert_eq!(mask["required"], true);
        let pattern = mask["schema"]["pattern"].as_str().unwrap();
        assert!(
            pattern.starts_with(r"^(\*|(?:") && pattern.contains("|subject|"),
            "`*` alone, or the ticket's settable fields: {pattern}"
        );
        assert!(!pattern.contains("|number|"), "output only: {pattern}");
        assert_eq!(
            patch["requestBody"]["required"], true,
            "the etag is required, so an absent body is refused"
        );
    }

    #[test]
    fn enums_list_their_values_and_requests_also_take_numbers() {
        let document = document();
        let output = schema(&document, "aftercare.tickets.v1.Ticket");
        let names = output["properties"]["priority"]["enum"].as_array().unwrap();
        assert!(names.contains(&json!("TICKET_PRIORITY_HIGH")), "{names:?}");
        let input = schema(&document, "aftercare.tickets.v1.Ticket-Input");
        let one_of = input["properties"]["priority"]["oneOf"].as_array().unwrap();
        assert_eq!(one_of[0]["type"], "string");
        assert_eq!(one_of[1]["type"], "integer");
        assert!(
            one_of[1]["enum"].as_array().unwrap().contains(&json!(0)),
            "optional: 0 is allowed"
        );
        let change = &document["paths"]["/v1/tickets/{tickets_id}:changeStatus"]["post"]["requestBody"]
            ["content"]["application/json"]["schema"];
        assert!(
            change["properties"].get("name").is_none(),
            "the path gives the name: {change}"
        );
        let status = &change["properties"]["status"]["oneOf"];
        assert!(
            !status[0]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("TICKET_STATUS_UNSPECIFIED")),
            "a required enum excludes its unspecified zero: {status}"
        );
        assert!(!status[1]["enum"].as_array().unwrap().contains(&json!(0)));
    }

    #[test]
    fn scalars_follow_the_json_mapping() {
        let document = document();
        let ticket = schema(&document, "aftercare.tickets.v1.Ticket");
        assert!(ticket["properties"]["number"]["allOf"].is_null());
        assert_eq!(ticket["properties"]["number"]["type"], "string");
        assert_eq!(ticket["properties"]["number"]["format"], "int64");
        assert_eq!(ticket["properties"]["createTime"]["format"], "date-time");
        let durations: Vec<&Value> = document["components"]["schemas"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|s| {
                s["properties"]
                    .as_object()
                    .into_iter()
                    .flat_map(|p| p.values())
            })
            .filter(|p| p["example"] == "1.5s")
            .collect();
        assert!(!durations.is_empty());
        for duration in durations {
            let pattern = duration["pattern"].as_str().unwrap();
            assert!(
                pattern == DURATION_PATTERN || pattern == DURATION_INPUT_PATTERN,
                "{pattern}"
            );
        }
    }

    #[test]
    fn request_fields_take_null_and_int64_numbers_but_required_ones_do_not() {
        let document = document();
        let input = schema(&document, "aftercare.tickets.v1.Ticket-Input");
        assert_eq!(input["properties"]["externalId"]["nullable"], true);
        assert!(input["properties"]["subject"].get("nullable").is_none());
        assert_eq!(input["properties"]["product"]["nullable"], true);
        assert!(input["properties"]["product"]["allOf"][0]["$ref"].is_string());
        let number = &input["properties"]["number"]["oneOf"];
        assert_eq!(number[0]["type"], "string");
        assert_eq!(number[1]["type"], "integer");
        let output = schema(&document, "aftercare.tickets.v1.Ticket");
        assert!(output["properties"]["externalId"].get("nullable").is_none());
    }

    #[test]
    fn at_most_one_member_of_a_oneof_is_set_in_a_request() {
        let document = document();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let exclusive: Vec<&String> = schemas
            .iter()
            .filter(|(name, schema)| name.ends_with("-Input") && schema.get("not").is_some())
            .map(|(name, _)| name)
            .collect();
        assert!(
            exclusive
                .iter()
                .any(|name| name.contains("SlaEscalationRule")),
            "{exclusive:?}"
        );
        let rule = &schemas["aftercare.tickets.v1.SlaEscalationRule-Input"];
        let pair = &rule["not"]["anyOf"][0];
        assert_eq!(pair["required"].as_array().unwrap().len(), 2, "{pair}");
        assert!(
            schemas["aftercare.tickets.v1.SlaEscalationRule"]
                .get("not")
                .is_none()
        );
    }

    #[test]
    fn path_parameters_are_one_segment_and_page_sizes_are_not_negative() {
        let document = document();
        let get = &document["paths"]["/v1/tickets/{tickets_id}"]["get"];
        assert_eq!(get["parameters"][0]["in"], "path");
        assert_eq!(get["parameters"][0]["schema"]["pattern"], SEGMENT_PATTERN);
        let list = &document["paths"]["/v1/tickets"]["get"];
        let page_size = list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "pageSize")
            .unwrap();
        assert_eq!(page_size["schema"]["minimum"], 0);
        assert_eq!(page_size["required"], false);
    }

    #[test]
    fn fields_beside_a_named_body_are_query_parameters() {
        let document = document();
        let create = &document["paths"]["/v1/tickets"]["post"];
        let names: Vec<&str> = create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"requestId") && !names.contains(&"ticket"),
            "{names:?}"
        );
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/aftercare.tickets.v1.Ticket-Input"
        );
    }

    #[test]
    fn declared_field_rules_reach_request_schemas_only() {
        let document = document();
        let input = schema(&document, "aftercare.tickets.v1.Ticket-Input");
        let subject = &input["properties"]["subject"];
        assert!(
            subject["pattern"].as_str().unwrap().contains("{0,199}"),
            "200 characters once trimmed: {subject}"
        );
        assert!(subject.get("minLength").is_none(), "{subject}");
        assert_eq!(
            input["properties"]["region"]["pattern"], "^(?:[a-z0-9-]{2,32})?$",
            "an optional code may be left empty"
        );
        assert_eq!(input["properties"]["tags"]["maxItems"], 50);
        let output = schema(&document, "aftercare.tickets.v1.Ticket");
        assert!(output["properties"]["subject"].get("pattern").is_none());
        let customer = schema(&document, "aftercare.customers.v1.Customer-Input");
        assert_eq!(
            customer["properties"]["timeZone"]["allOf"][0]["$ref"],
            "#/components/schemas/TimeZone-Optional"
        );
        let create = &document["paths"]["/v1/tickets"]["post"];
        let request_id = create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "requestId")
            .unwrap();
        // Optional: a UUID or nothing, so no `format: uuid` (which refuses "").
        assert!(request_id["schema"].get("format").is_none(), "{request_id}");
        let pattern = regex::Regex::new(request_id["schema"]["pattern"].as_str().unwrap()).unwrap();
        assert!(pattern.is_match("") && pattern.is_match("0192f0c4-0000-7000-8000-000000000001"));
        assert!(!pattern.is_match("not-a-uuid"));
        let suggestions = create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "maxSuggestions")
            .unwrap();
        assert_eq!(suggestions["schema"]["maximum"], 10);
    }

    #[test]
    fn streaming_methods_say_rest_answers_501() {
        let document = document();
        let watch = &document["paths"]["/v1/tickets:watch"]["get"];
        assert_eq!(watch["x-aftercare-streaming"], true);
        let responses = watch["responses"].as_object().unwrap();
        assert_eq!(responses.keys().collect::<Vec<_>>(), ["501"]);
    }

    #[test]
    fn the_error_body_lists_its_google_rpc_details() {
        let document = document();
        let detail = schema(&document, "google.rpc.Detail");
        assert_eq!(
            detail["oneOf"].as_array().unwrap().len(),
            ERROR_DETAILS.len()
        );
        let bad = schema(&document, "google.rpc.BadRequest");
        assert_eq!(
            bad["properties"]["@type"]["enum"][0],
            "type.googleapis.com/google.rpc.BadRequest"
        );
    }

    #[test]
    fn every_reference_resolves_and_no_component_name_is_a_message_name() {
        let document = document();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            let name = target.strip_prefix("#/components/schemas/").expect(target);
            assert!(schemas.contains_key(name), "{target} does not resolve");
        }
        let pool = DescriptorPool::decode(crate::DESCRIPTOR_SET).unwrap();
        for name in schemas.keys() {
            if let Some(base) = name
                .strip_suffix("-Input")
                .or_else(|| name.strip_suffix("-Patch"))
            {
                assert!(pool.get_message_by_name(base).is_some(), "{name}");
            }
        }
    }
}
