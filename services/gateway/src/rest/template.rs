//! `google.api.http` path templates (`/v1/{name=customers/*/identities/*}:verify`): parsing,
//! and matching request paths to them.

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// `*`: one segment.
    Star,
    /// `**`: the rest of the path (last only).
    DoubleStar,
}

/// A variable: a field path bound to pieces `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    field: String,
    start: usize,
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    pieces: Vec<Piece>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

impl PathTemplate {
    /// Parses a template.
    pub fn parse(template: &str) -> Result<Self, String> {
        let rest = template
            .strip_prefix('/')
            .ok_or_else(|| format!("`{template}` does not start with `/`"))?;
        let last_close = rest.rfind('}').map_or(0, |i| i + 1);
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, verb) = match rest[last_close.max(last_slash)..].find(':') {
            Some(i) => {
                let at = last_close.max(last_slash) + i;
                (&rest[..at], Some(rest[at + 1..].to_owned()))
            }
            None => (rest, None),
        };
        let mut pieces = Vec::new();
        let mut variables = Vec::new();
        let mut remaining = path;
        while !remaining.is_empty() {
            if let Some(inner) = remaining.strip_prefix('{') {
                let close = inner
                    .find('}')
                    .ok_or_else(|| format!("`{template}`: unclosed `{{`"))?;
                let (field, pattern) = inner[..close]
                    .split_once('=')
                    .unwrap_or((&inner[..close], "*"));
                let start = pieces.len();
                for segment in pattern.split('/') {
                    pieces.push(piece(segment));
                }
                variables.push(Variable {
                    field: field.to_owned(),
                    start,
                    end: pieces.len(),
                });
                remaining = &inner[close + 1..];
            } else {
                let end = remaining.find('/').unwrap_or(remaining.len());
                pieces.push(piece(&remaining[..end]));
                remaining = &remaining[end..];
            }
            remaining = remaining.strip_prefix('/').unwrap_or(remaining);
        }
        if pieces[..pieces.len().saturating_sub(1)].contains(&Piece::DoubleStar) {
            return Err(format!("`{template}`: `**` must come last"));
        }
        Ok(Self {
            pieces,
            variables,
            verb,
        })
    }

    /// How specific the template is: literal segments count, a verb counts more.
    pub fn specificity(&self) -> usize {
        let literals = self
            .pieces
            .iter()
            .filter(|p| matches!(p, Piece::Literal(_)))
            .count();
        literals + if self.verb.is_some() { 100 } else { 0 }
    }

    /// The variables' values when `path` matches, e.g. `[("name", "customers/42")]`.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let segments: Vec<String> = path.split('/').map(percent_decode).collect();
        if self.verb.is_none() && segments.last().is_some_and(|s| s.contains(':')) {
            return None;
        }
        let mut spans = Vec::with_capacity(self.pieces.len());
        let mut at = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(literal) => {
                    if segments.get(at) != Some(literal) {
                        return None;
                    }
                    spans.push((at, at + 1));
                    at += 1;
                }
                Piece::Star => {
                    if segments.get(at).is_none_or(String::is_empty) {
                        return None;
                    }
                    spans.push((at, at + 1));
                    at += 1;
                }
                Piece::DoubleStar => {
                    if at >= segments.len() {
                        return None;
                    }
                    spans.push((at, segments.len()));
                    at = segments.len();
                }
            }
        }
        if at != segments.len() {
            return None;
        }
        Some(
            self.variables
                .iter()
                .map(|var| {
                    let from = spans[var.start].0;
                    let to = spans[var.end - 1].1;
                    (var.field.clone(), segments[from..to].join("/"))
                })
                .collect(),
        )
    }

    /// The template as an OpenAPI path (`/v1/customers/{customers_id}/identities`) and, per
    /// parameter, the field it fills and the segment literal it follows.
    pub fn openapi(&self) -> (String, Vec<(String, String)>) {
        let mut out = String::new();
        let mut parameters = Vec::new();
        let mut names = Vec::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            out.push('/');
            match piece {
                Piece::Literal(literal) => out.push_str(literal),
                Piece::Star | Piece::DoubleStar => {
                    let field = self
                        .variables
                        .iter()
                        .find(|v| (v.start..v.end).contains(&i))
                        .map_or("param", |v| v.field.as_str());
                    let base = match i.checked_sub(1).map(|j| &self.pieces[j]) {
                        Some(Piece::Literal(literal)) => format!("{literal}_id"),
                        _ => field.replace('.', "_"),
                    };
                    let mut name = base.clone();
                    let mut n = 2;
                    while names.contains(&name) {
                        name = format!("{base}{n}");
                        n += 1;
                    }
                    names.push(name.clone());
                    out.push('{');
                    out.push_str(&name);
                    out.push('}');
                    parameters.push((name, field.to_owned()));
                }
            }
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        (out, parameters)
    }
}

fn piece(segment: &str) -> Piece {
    match segment {
        "*" => Piece::Star,
        "**" => Piece::DoubleStar,
        literal => Piece::Literal(literal.to_owned()),
    }
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are.
pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        PathTemplate::parse(template).unwrap().matches(path)
    }

    fn pair(field: &str, value: &str) -> (String, String) {
        (field.to_owned(), value.to_owned())
    }

    #[test]
    fn variables_bind_their_whole_pattern() {
        assert_eq!(
            vars("/v1/{name=customers/*}", "/v1/customers/42"),
            Some(vec![pair("name", "customers/42")])
        );
        assert_eq!(
            vars(
                "/v1/{parent=customers/*}/identities",
                "/v1/customers/42/identities"
            ),
            Some(vec![pair("parent", "customers/42")])
        );
        assert_eq!(
            vars("/v1/{customer.name=customers/*}", "/v1/customers/a%20b"),
            Some(vec![pair("customer.name", "customers/a b")])
        );
        assert_eq!(vars("/v1/{name=customers/*}", "/v1/tickets/42"), None);
        assert_eq!(vars("/v1/{name=customers/*}", "/v1/customers/42/x"), None);
    }

    #[test]
    fn verbs_match_only_their_own_paths() {
        let verify = "/v1/{name=customers/*/identities/*}:verify";
        assert_eq!(
            vars(verify, "/v1/customers/1/identities/2:verify"),
            Some(vec![pair("name", "customers/1/identities/2")])
        );
        assert_eq!(vars(verify, "/v1/customers/1/identities/2"), None);
        assert_eq!(
            vars(
                "/v1/customers:resolveIdentity",
                "/v1/customers:resolveIdentity"
            ),
            Some(vec![])
        );
        assert_eq!(vars("/v1/{name=tickets/*}", "/v1/tickets/1:resolve"), None);
    }

    #[test]
    fn openapi_paths_name_each_segment() {
        let template = PathTemplate::parse("/v1/{name=customers/*/identities/*}:verify").unwrap();
        let (path, params) = template.openapi();
        assert_eq!(
            path,
            "/v1/customers/{customers_id}/identities/{identities_id}:verify"
        );
        assert_eq!(params.len(), 2);
    }
}
