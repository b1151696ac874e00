//! Email addresses: trimmed, lower-cased and checked for a plausible shape.

/// The longest address accepted (RFC 5321 path limit, as the contracts state).
const MAX_LEN: usize = 320;

use super::values::EmailAddress;

impl EmailAddress {
    /// `raw` as stored: trimmed and lower-cased, or why it is not an email address.
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        normalise(raw).map(Self::trusted)
    }
}

/// `raw` trimmed and lower-cased, or why it is not an email address.
fn normalise(raw: &str) -> Result<String, String> {
    let address = raw.trim().to_lowercase();
    let length = address.chars().count();
    if !(3..=MAX_LEN).contains(&length) {
        return Err(format!("must be 3 to {MAX_LEN} characters"));
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Err("must contain `@`".into());
    };
    if domain.contains('@') {
        return Err("must contain exactly one `@`".into());
    }
    if local.is_empty() || local.chars().count() > 64 {
        return Err("the part before `@` must be 1 to 64 characters".into());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before `@` has misplaced dots".into());
    }
    if local.chars().any(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\'
            )
    }) {
        return Err("the part before `@` has characters an address cannot have".into());
    }
    check_domain(domain)?;
    Ok(address)
}

/// Checks an internet domain: labels of letters, digits and hyphens, with at least one dot.
pub(crate) fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.len() > 253 {
        return Err("the domain must be 1 to 253 characters".into());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain must have a dot (`example.com`)".into());
    }
    for label in labels {
        let valid = !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !valid {
            return Err(format!("the domain label `{label}` is not valid"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse("  Li.Wei@Example.COM \n").unwrap(),
            "li.wei@example.com"
        );
        assert_eq!(
            EmailAddress::parse("anna+orders@mail.contoso.de").unwrap(),
            "anna+orders@mail.contoso.de"
        );
        assert_eq!(
            EmailAddress::parse("王伟@例子.中国").unwrap(),
            "王伟@例子.中国"
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "a@",
            "@example.com",
            "no-at-sign.example.com",
            "two@@example.com",
            "a@b@example.com",
            "li wei@example.com",
            "li@localhost",
            "li@example..com",
            "li@-example.com",
            ".li@example.com",
            "li..wei@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
