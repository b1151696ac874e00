//! Resource names.

use uuid::Uuid;

/// `agents/{id}`.
pub fn agent_name(id: Uuid) -> String {
    format!("agents/{id}")
}

/// `agents/{id}/presence`.
pub fn presence_name(id: Uuid) -> String {
    format!("agents/{id}/presence")
}

/// `teams/{id}`.
pub fn team_name(id: Uuid) -> String {
    format!("teams/{id}")
}

/// `skills/{id}`.
pub fn skill_name(id: Uuid) -> String {
    format!("skills/{id}")
}

/// `shifts/{id}`.
pub fn shift_name(id: Uuid) -> String {
    format!("shifts/{id}")
}

/// The id in `agents/{id}`, when it is one.
pub fn parse_agent_name(name: &str) -> Option<Uuid> {
    let id = Uuid::parse_str(name.strip_prefix("agents/")?).ok()?;
    (agent_name(id) == name).then_some(id)
}

/// The resource name of a ticket (in the tickets service), `tickets/{id}`.
pub fn ticket_name(id: Uuid) -> String {
    format!("tickets/{id}")
}

/// The id in `tickets/{id}`, when it is one.
pub fn parse_ticket_name(name: &str) -> Option<Uuid> {
    let id = Uuid::parse_str(name.strip_prefix("tickets/")?).ok()?;
    (format!("tickets/{id}") == name).then_some(id)
}
