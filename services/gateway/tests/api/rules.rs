//! The rules the OpenAPI document states for request fields are the ones the services enforce.
//! For a sample of fields of tickets and customers, read from the contracts'
//! `aftercare.api.v1.field_rules` (their one source): a value at the declared limit matches the
//! document's pattern and is accepted by the running service; one past it, a blank one and one
//! with a control character match neither and are refused with INVALID_ARGUMENT naming the
//! field.

use aftercare_platform::auth::{PrincipalVerifier, Role};
use aftercare_platform::testing::TestDatabase;
use prost_reflect::{DescriptorPool, Value as Field};
use regex::RegexBuilder;
use serde_json::{Value, json};

use crate::rest::rest;
use crate::support::Harness;
use crate::tickets::start_services;

/// The `max_length` (and `min_length`) the contracts declare on `message.field`.
fn declared(message: &str, field: &str) -> (usize, usize) {
    let pool = DescriptorPool::decode(aftercare_proto::FILE_DESCRIPTOR_SET).unwrap();
    let extension = pool
        .get_extension_by_name("aftercare.api.v1.field_rules")
        .expect("the contracts declare field rules");
    let name = field;
    let field = pool
        .get_message_by_name(message)
        .and_then(|m| m.get_field_by_name(name))
        .unwrap_or_else(|| panic!("no field {message}.{name}"));
    let options = field.options();
    let rules = options.get_extension(&extension);
    let Field::Message(rules) = rules.as_ref() else {
        panic!("{message}.{name} declares no rules");
    };
    let number = |name: &str| {
        rules
            .get_field_by_name(name)
            .and_then(|v| v.as_u32())
            .unwrap_or_default() as usize
    };
    let max = number("max_length");
    assert!(max > 0, "{message}.{name} declares no max_length");
    (number("min_length"), max)
}

/// Whether `value` matches the pattern the document states for `property` of `schema`.
fn documented_match(document: &Value, schema: &str, property: &str, value: &str) -> bool {
    let pattern = document["components"]["schemas"][schema]["properties"][property]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema}.{property} has no pattern"));
    RegexBuilder::new(pattern)
        .size_limit(1 << 26)
        .build()
        .unwrap_or_else(|err| panic!("{schema}.{property}: {err}"))
        .is_match(value)
}

/// Whether the service took `body` (200), or refused it with a violation of `field` (400).
async fn accepted(harness: &Harness, token: &str, path: &str, body: &Value, field: &str) -> bool {
    let (status, answer) = rest(harness, "POST", path, Some(token), Some(&body.to_string())).await;
    match status {
        200 => true,
        400 => {
            let violations = &answer["error"]["details"][0]["fieldViolations"];
            assert!(
                violations
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v["field"] == field)),
                "the refusal names {field}: {answer}"
            );
            false
        }
        other => panic!("{path}: {other} {answer}"),
    }
}

async fn documented_text_limits_are_the_ones_the_services_enforce(db: TestDatabase) {
    let principals = PrincipalVerifier::random();
    let (services, platform) = start_services(db, &principals).await;
    let harness = Harness::with_verifier(principals, |config| {
        config.services.customers.endpoint = Some(platform.services.customers.endpoint());
        config.services.tickets.endpoint = Some(platform.services.tickets.endpoint());
    })
    .await;
    let lead = harness.token("agents/lead", &[Role::Lead]);
    let (status, document) = rest(&harness, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);

    // Customers: a display name is one line of text, trimmed.
    let (_, max) = declared("aftercare.customers.v1.Customer", "display_name");
    let customer_schema = "aftercare.customers.v1.Customer-Input";
    let mut customer = String::new();
    for (value, expected) in [
        ("a".repeat(max), true),
        (format!("  {}\t", "名".repeat(max)), true),
        ("a".repeat(max + 1), false),
        ("   ".to_owned(), false),
        ("Ada\nLovelace".to_owned(), false),
        ("Ada\u{7}".to_owned(), false),
    ] {
        let shown = format!(
            "{:?}… ({} characters)",
            value.chars().take(12).collect::<String>(),
            value.chars().count()
        );
        assert_eq!(
            documented_match(&document, customer_schema, "displayName", &value),
            expected,
            "the document on display name {shown}"
        );
        let body = json!({"displayName": value});
        let taken = accepted(
            &harness,
            &lead,
            "/v1/customers",
            &body,
            "customer.display_name",
        )
        .await;
        assert_eq!(taken, expected, "customers on display name {shown}");
        if taken && customer.is_empty() {
            let (_, list) = rest(&harness, "GET", "/v1/customers", Some(&lead), None).await;
            customer = list["customers"][0]["name"].as_str().unwrap().to_owned();
        }
    }

    // Tickets: a subject is plain text (line breaks allowed), trimmed; a region is a code.
    let ticket_schema = "aftercare.tickets.v1.Ticket-Input";
    let ticket = |subject: &str, region: &str| {
        json!({
            "customer": customer, "channel": "CHANNEL_WEB", "subject": subject,
            "description": "It stopped working", "region": region,
        })
    };
    let (_, max) = declared("aftercare.tickets.v1.Ticket", "subject");
    for (value, expected) in [
        ("b".repeat(max), true),
        (format!("\n {}  ", "修".repeat(max)), true),
        ("Washer\nleaks".to_owned(), true),
        ("b".repeat(max + 1), false),
        ("\u{3000}".to_owned(), false),
        ("Washer\u{1b}[31m leaks".to_owned(), false),
    ] {
        let shown = format!(
            "{:?}… ({} characters)",
            value.chars().take(12).collect::<String>(),
            value.chars().count()
        );
        assert_eq!(
            documented_match(&document, ticket_schema, "subject", &value),
            expected,
            "the document on subject {shown}"
        );
        let taken = accepted(
            &harness,
            &lead,
            "/v1/tickets",
            &ticket(&value, "eu-west"),
            "ticket.subject",
        )
        .await;
        assert_eq!(taken, expected, "tickets on subject {shown}");
    }
    let (min, max) = declared("aftercare.tickets.v1.Ticket", "region");
    for (value, expected) in [
        ("r".repeat(max), true),
        ("r".repeat(min), true),
        ("r".repeat(max + 1), false),
        ("r".repeat(min - 1), false),
        ("EU-WEST".to_owned(), false),
        (" eu-west".to_owned(), false),
    ] {
        assert_eq!(
            documented_match(&document, ticket_schema, "region", &value),
            expected,
            "the document on region {value:?}"
        );
        let taken = accepted(
            &harness,
            &lead,
            "/v1/tickets",
            &ticket("Oven", &value),
            "ticket.region",
        )
        .await;
        assert_eq!(taken, expected, "tickets on region {value:?}");
    }

    harness.stop().await;
    services.stop().await;
}

aftercare_platform::on_both_databases!(documented_text_limits_are_the_ones_the_services_enforce);
