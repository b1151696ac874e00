//! HTML message bodies are sanitised on write: `script`, `style` (and `iframe`, `object`,
//! `embed`) elements are removed with their content, `on…` event-handler attributes are
//! dropped, and `javascript:` URLs are neutralised. Everything else is kept as written.

const DROPPED_ELEMENTS: &[&str] = &["script", "style", "iframe", "object", "embed"];

/// The sanitised form of an HTML body.
pub fn sanitise(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if let Some(element) = DROPPED_ELEMENTS.iter().find(|e| {
            rest.starts_with(&format!("<{e}")) && is_tag_end(rest.as_bytes().get(e.len() + 1))
        }) {
            let close = format!("</{element}");
            i = match rest.find(&close) {
                Some(at) => {
                    let after = i + at;
                    lower[after..]
                        .find('>')
                        .map_or(html.len(), |end| after + end + 1)
                }
                None => html.len(),
            };
            continue;
        }
        if rest.starts_with('<') && !rest.starts_with("</") {
            let end = rest.find('>').map_or(html.len(), |e| i + e + 1);
            out.push_str(&clean_tag(&html[i..end]));
            i = end;
            continue;
        }
        let ch = html[i..].chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_tag_end(byte: Option<&u8>) -> bool {
    byte.is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
}

/// A start tag without event-handler attributes and with `javascript:` URLs neutralised.
fn clean_tag(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    let mut rest = tag;
    while !rest.is_empty() {
        // An attribute starts after whitespace.
        let Some(space) = rest.find(|c: char| c.is_ascii_whitespace()) else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..space]);
        let after = rest[space..].trim_start();
        let name_end = after
            .find(|c: char| c == '=' || c == '>' || c.is_ascii_whitespace() || c == '/')
            .unwrap_or(after.len());
        let name = after[..name_end].to_ascii_lowercase();
        let mut attribute_end = name_end;
        let value_start = after[name_end..].trim_start();
        if let Some(value) = value_start.strip_prefix('=') {
            let offset = after.len() - value.len();
            let value = value.trim_start();
            let skipped = after.len() - offset - value.len();
            let value_len = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].find(q).map_or(value.len(), |e| e + 2),
                _ => value
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(value.len()),
            };
            attribute_end = offset + skipped + value_len;
        }
        let attribute = &after[..attribute_end];
        let dangerous = name.starts_with("on")
            || attribute
                .to_ascii_lowercase()
                .replace(char::is_whitespace, "")
                .contains("javascript:");
        if !dangerous {
            out.push(' ');
            out.push_str(attribute);
        }
        rest = &after[attribute_end..];
        if name.is_empty() {
            out.push_str(rest);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_and_handlers_are_removed() {
        assert_eq!(sanitise("<p>Hi</p><script>alert(1)</script>"), "<p>Hi</p>");
        assert_eq!(sanitise("<STYLE>p{}</STYLE><b>x</b>"), "<b>x</b>");
        assert_eq!(
            sanitise(r#"<img src="a.png" onerror="alert(1)">"#),
            r#"<img src="a.png">"#
        );
        assert_eq!(
            sanitise(r#"<a href="javascript:alert(1)">x</a>"#),
            "<a>x</a>"
        );
        assert_eq!(
            sanitise(r#"<a href="https://example.com" title='t'>x</a>"#),
            r#"<a href="https://example.com" title='t'>x</a>"#
        );
        assert_eq!(
            sanitise("<p>洗衣机 <b>坏了</b></p>"),
            "<p>洗衣机 <b>坏了</b></p>"
        );
        assert_eq!(sanitise("<script src=x>"), "");
        assert_eq!(
            sanitise("<scripted>ok</scripted>"),
            "<scripted>ok</scripted>"
        );
    }
}
