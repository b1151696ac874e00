//! Resource names: `customers/{id}`, `customers/{id}/identities/{id}`,
//! `organisations/{id}`. Ids are UUIDs assigned by the server.

use uuid::Uuid;

/// The id in `{collection}/{id}`, or why `name` is not such a name.
pub(crate) fn parse_name(name: &str, collection: &str) -> Result<Uuid, String> {
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| format!("must be `{collection}/{{id}}`"))?;
    parse_id(id).ok_or_else(|| format!("must be `{collection}/{{id}}` with a UUID id"))
}

/// The ids in `{parent}/{parent_id}/{collection}/{id}`.
pub(crate) fn parse_child_name(
    name: &str,
    parent: &str,
    collection: &str,
) -> Result<(Uuid, Uuid), String> {
    let expected = || format!("must be `{parent}/{{id}}/{collection}/{{id}}` with UUID ids");
    let mut parts = name.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(p), Some(parent_id), Some(c), Some(id), None) if p == parent && c == collection => {
            match (parse_id(parent_id), parse_id(id)) {
                (Some(parent_id), Some(id)) => Ok((parent_id, id)),
                _ => Err(expected()),
            }
        }
        _ => Err(expected()),
    }
}

fn parse_id(id: &str) -> Option<Uuid> {
    // Only the hyphenated lower-case form, so one id has one name.
    Uuid::parse_str(id)
        .ok()
        .filter(|uuid| uuid.hyphenated().to_string() == id)
}

/// `customers/{id}`.
pub(crate) fn customer_name(id: Uuid) -> String {
    format!("customers/{id}")
}

/// `customers/{customer}/identities/{id}`.
pub(crate) fn identity_name(customer: Uuid, id: Uuid) -> String {
    format!("customers/{customer}/identities/{id}")
}

/// `organisations/{id}`.
pub(crate) fn organisation_name(id: Uuid) -> String {
    format!("organisations/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let id = Uuid::now_v7();
        let child = Uuid::now_v7();
        assert_eq!(parse_name(&customer_name(id), "customers"), Ok(id));
        assert_eq!(
            parse_child_name(&identity_name(id, child), "customers", "identities"),
            Ok((id, child))
        );
    }

    #[test]
    fn malformed_names_are_refused() {
        let id = Uuid::now_v7();
        for bad in [
            String::new(),
            id.to_string(),
            format!("tickets/{id}"),
            "customers/42".to_owned(),
            format!("customers/{}", id.to_string().to_uppercase()),
            format!("customers/{id}/x"),
        ] {
            assert!(parse_name(&bad, "customers").is_err(), "{bad}");
        }
        assert!(parse_child_name(&customer_name(id), "customers", "identities").is_err());
    }
}
