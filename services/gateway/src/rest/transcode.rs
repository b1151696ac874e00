//! REST ↔ gRPC: a JSON request (path variables, query parameters, body) becomes the method's
//! request message, per its `google.api.http` rule; the answer becomes JSON, or a JSON error
//! with the gRPC code and details. JSON names follow the protobuf JSON mapping.

use bytes::{BufMut as _, Bytes, BytesMut};
use http_body_util::BodyExt as _;
use prost::Message as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage as _,
    SerializeOptions, Value,
};
use serde_json::json;
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, StatusExt as _};

use super::RestRoute;
use crate::error::GatewayError;

/// The request message for `route` from the path's variables, the query and the body.
pub fn request(
    route: &RestRoute,
    variables: Vec<(String, String)>,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, GatewayError> {
    let input = route.method.input();
    let mut message = match route.body.as_deref() {
        Some("*") => from_json(&input, body)?,
        Some(field) => {
            let mut message = DynamicMessage::new(input.clone());
            let descriptor = find_field(&input, field)?;
            let Kind::Message(kind) = descriptor.kind() else {
                return Err(GatewayError::InvalidArgument(format!(
                    "the body field `{field}` is not a message"
                )));
            };
            message.set_field(&descriptor, Value::Message(from_json(&kind, body)?));
            message
        }
        None => DynamicMessage::new(input),
    };
    for (path, value) in variables {
        set_path(&mut message, &path, &value)?;
    }
    if route.body.as_deref() != Some("*")
        && let Some(query) = query
    {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = super::template::percent_decode(&key.replace('+', " "));
            let value = super::template::percent_decode(&value.replace('+', " "));
            set_path(&mut message, &key, &value)?;
        }
    }
    Ok(message)
}

/// `message` as one uncompressed gRPC frame.
pub fn frame(message: &DynamicMessage) -> Bytes {
    let encoded = message.encode_to_vec();
    let mut framed = BytesMut::with_capacity(encoded.len() + 5);
    framed.put_u8(0);
    framed.put_u32(u32::try_from(encoded.len()).unwrap_or(u32::MAX));
    framed.put_slice(&encoded);
    framed.freeze()
}

/// The JSON answer for the gRPC `response` of `route`, or the status it failed with.
pub async fn response(
    route: &RestRoute,
    response: http::Response<Body>,
) -> Result<Vec<u8>, Status> {
    let (parts, body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers)
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    let collected = body.collect().await?;
    let status = collected
        .trailers()
        .and_then(Status::from_header_map)
        .unwrap_or_else(|| Status::unknown("the service's answer has no status"));
    if status.code() != Code::Ok {
        return Err(status);
    }
    let bytes = collected.to_bytes();
    let message = unframe(&bytes)
        .and_then(|payload| {
            DynamicMessage::decode(route.method.output(), payload).map_err(|err| err.to_string())
        })
        .map_err(|err| Status::from(GatewayError::BadResponse(err)))?;
    let value = match route.response_body.as_deref() {
        Some(field) => {
            let descriptor = find_field(&message.descriptor(), field).map_err(Status::from)?;
            message.get_field(&descriptor).into_owned()
        }
        None => Value::Message(message),
    };
    to_json(&value).map_err(|err| Status::from(GatewayError::BadResponse(err)))
}

fn unframe(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < 5 {
        return Err("no message in the answer".into());
    }
    if bytes[0] != 0 {
        return Err("the answer is compressed".into());
    }
    let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    bytes
        .get(5..5 + length)
        .ok_or_else(|| "the answer is truncated".to_owned())
}

fn to_json(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    let options = SerializeOptions::new();
    match value {
        Value::Message(message) => message
            .serialize_with_options(&mut serializer, &options)
            .map_err(|err| err.to_string())?,
        Value::List(items) => {
            let items: Result<Vec<serde_json::Value>, String> = items
                .iter()
                .map(|item| {
                    to_json(item).and_then(|bytes| {
                        serde_json::from_slice(&bytes).map_err(|err| err.to_string())
                    })
                })
                .collect();
            serde_json::to_writer(&mut out, &items?).map_err(|err| err.to_string())?;
        }
        other => {
            return Err(format!("cannot write {other:?} as a response body"));
        }
    }
    Ok(out)
}

fn from_json(descriptor: &MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DynamicMessage::new(descriptor.clone()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let message = DynamicMessage::deserialize(descriptor.clone(), &mut deserializer)
        .and_then(|message| deserializer.end().map(|()| message))
        .map_err(|err| {
            GatewayError::InvalidArgument(format!(
                "the JSON body is not a valid {}: {err}",
                descriptor.name()
            ))
        })?;
    Ok(message)
}

fn find_field(descriptor: &MessageDescriptor, name: &str) -> Result<FieldDescriptor, GatewayError> {
    descriptor
        .get_field_by_name(name)
        .or_else(|| descriptor.get_field_by_json_name(name))
        .ok_or_else(|| {
            GatewayError::InvalidArgument(format!("{} has no field `{name}`", descriptor.name()))
        })
}

/// Sets the field at the dotted `path` from a path variable or query parameter.
fn set_path(message: &mut DynamicMessage, path: &str, value: &str) -> Result<(), GatewayError> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let field = find_field(&message.descriptor(), head)?;
    match rest {
        Some(rest) => match message.get_field_mut(&field) {
            Value::Message(inner) if !field.is_list() && !field.is_map() => {
                set_path(inner, rest, value)
            }
            _ => Err(GatewayError::InvalidArgument(format!(
                "`{head}` is not a message field, so `{path}` names nothing"
            ))),
        },
        None => {
            let parsed = scalar(&field.kind(), value)
                .map_err(|err| GatewayError::InvalidArgument(format!("`{path}`: {err}")))?;
            if field.is_list() {
                if let Value::List(items) = message.get_field_mut(&field) {
                    items.push(parsed);
                }
            } else if field.is_map() {
                return Err(GatewayError::InvalidArgument(format!(
                    "`{path}` is a map and cannot be set from the URL"
                )));
            } else {
                message.set_field(&field, parsed);
            }
            Ok(())
        }
    }
}

fn scalar(kind: &Kind, value: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("`{value}` is not {what}");
    Ok(match kind {
        Kind::String => Value::String(value.to_owned()),
        Kind::Bool => Value::Bool(value.parse().map_err(|_| bad("true or false"))?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(value.parse().map_err(|_| bad("a 32-bit integer"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(value.parse().map_err(|_| bad("a 64-bit integer"))?)
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(
            value
                .parse()
                .map_err(|_| bad("an unsigned 32-bit integer"))?,
        ),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(
            value
                .parse()
                .map_err(|_| bad("an unsigned 64-bit integer"))?,
        ),
        Kind::Float => Value::F32(value.parse().map_err(|_| bad("a number"))?),
        Kind::Double => Value::F64(value.parse().map_err(|_| bad("a number"))?),
        Kind::Bytes => {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value))
                .map_err(|_| bad("base64"))?;
            Value::Bytes(decoded.into())
        }
        Kind::Enum(descriptor) => {
            let number = descriptor
                .get_value_by_name(value)
                .map(|v| v.number())
                .or_else(|| value.parse().ok())
                .ok_or_else(|| bad(&format!("a value of {}", descriptor.name())))?;
            Value::EnumNumber(number)
        }
        Kind::Message(descriptor) => Value::Message(
            DynamicMessage::deserialize(
                descriptor.clone(),
                serde_json::Value::String(value.to_owned()),
            )
            .map_err(|err| format!("{err}"))?,
        ),
    })
}

/// The JSON error for `status`, with the HTTP status Google APIs use for its code:
/// `{"error": {"code": 404, "status": "NOT_FOUND", "message": …, "details": […]}}`.
pub fn error_body(status: &Status) -> (http::StatusCode, Vec<u8>) {
    let http = http_status(status.code());
    let details: Vec<serde_json::Value> = status
        .get_error_details_vec()
        .into_iter()
        .filter_map(detail_json)
        .collect();
    let body = json!({
        "error": {
            "code": http.as_u16(),
            "grpcCode": status.code() as i32,
            "status": code_name(status.code()),
            "message": status.message(),
            "details": details,
        }
    });
    (http, serde_json::to_vec(&body).unwrap_or_default())
}

fn detail_json(detail: ErrorDetail) -> Option<serde_json::Value> {
    const PREFIX: &str = "type.googleapis.com/google.rpc.";
    Some(match detail {
        ErrorDetail::BadRequest(bad) => json!({
            "@type": format!("{PREFIX}BadRequest"),
            "fieldViolations": bad.field_violations.iter().map(|v| json!({
                "field": v.field, "description": v.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::RetryInfo(retry) => json!({
            "@type": format!("{PREFIX}RetryInfo"),
            "retryDelay": retry.retry_delay.map(|d| format!("{:.3}s", d.as_secs_f64())),
        }),
        ErrorDetail::PreconditionFailure(failure) => json!({
            "@type": format!("{PREFIX}PreconditionFailure"),
            "violations": failure.violations.iter().map(|v| json!({
                "type": v.r#type, "subject": v.subject, "description": v.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::ResourceInfo(info) => json!({
            "@type": format!("{PREFIX}ResourceInfo"),
            "resourceType": info.resource_type,
            "resourceName": info.resource_name,
            "owner": info.owner,
            "description": info.description,
        }),
        ErrorDetail::ErrorInfo(info) => json!({
            "@type": format!("{PREFIX}ErrorInfo"),
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata,
        }),
        ErrorDetail::QuotaFailure(failure) => json!({
            "@type": format!("{PREFIX}QuotaFailure"),
            "violations": failure.violations.iter().map(|v| json!({
                "subject": v.subject, "description": v.description,
            })).collect::<Vec<_>>(),
        }),
        ErrorDetail::LocalizedMessage(message) => json!({
            "@type": format!("{PREFIX}LocalizedMessage"),
            "locale": message.locale,
            "message": message.message,
        }),
        _ => return None,
    })
}

fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as S;
    match code {
        Code::Ok => S::OK,
        Code::Cancelled => S::from_u16(499).unwrap_or(S::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => S::BAD_REQUEST,
        Code::DeadlineExceeded => S::GATEWAY_TIMEOUT,
        Code::NotFound => S::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => S::CONFLICT,
        Code::PermissionDenied => S::FORBIDDEN,
        Code::Unauthenticated => S::UNAUTHORIZED,
        Code::ResourceExhausted => S::TOO_MANY_REQUESTS,
        Code::Unimplemented => S::NOT_IMPLEMENTED,
        Code::Unavailable => S::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => S::INTERNAL_SERVER_ERROR,
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
