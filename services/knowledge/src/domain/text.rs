//! Texts: language tags, tags and product lines, query normalisation, and Markdown to plain
//! text for snippets.

use unicode_normalization::UnicodeNormalization;

/// A BCP 47 tag in canonical case (`zh-CN`, `zh-Hant-TW`, `en`), or why it is not one.
pub fn language_tag(value: &str) -> Result<String, String> {
    let value = value.trim();
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("must be a BCP 47 language tag such as `en` or `zh-CN`".into());
    }
    let mut out = primary.to_ascii_lowercase();
    for part in parts {
        if !(2..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("must be a BCP 47 language tag such as `en` or `zh-CN`".into());
        }
        out.push('-');
        match part.len() {
            2 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                out.push_str(&part.to_ascii_uppercase());
            }
            4 => {
                let mut chars = part.chars();
                out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                out.push_str(&chars.as_str().to_ascii_lowercase());
            }
            _ => out.push_str(&part.to_ascii_lowercase()),
        }
    }
    if out.len() > 35 {
        return Err("must be at most 35 characters".into());
    }
    Ok(out)
}

/// A tag or product line: trimmed, lower-cased, 1 to 64 characters, no control characters.
pub fn label(value: &str) -> Result<String, String> {
    let value = value.trim().to_lowercase();
    let count = value.chars().count();
    if count == 0 || count > 64 {
        return Err("each must be 1 to 64 characters".into());
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value)
}

/// The normalised form of a query: NFKC (full-width to half-width), lower case, punctuation
/// removed, whitespace collapsed and trimmed. Chinese is kept as is.
pub fn normalize_query(query: &str) -> String {
    let folded: String = query
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A plain-text rendering of Markdown for indexing and snippets: code fences, emphasis,
/// headings, quotes, list markers, images and link targets are dropped; raw HTML tags are
/// removed, never rendered.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let line = line.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            continue;
        }
        let line = line.trim_start_matches(['#', '>', ' ']);
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .or_else(|| line.strip_prefix("+ "))
            .unwrap_or(line);
        let mut chars = line.chars().peekable();
        let mut in_tag = false;
        while let Some(c) = chars.next() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if in_tag => {}
                ']' if chars.peek() == Some(&'(') => {
                    for skipped in chars.by_ref() {
                        if skipped == ')' {
                            break;
                        }
                    }
                }
                '*' | '_' | '`' | '[' | ']' | '!' | '~' | '|' => {}
                _ => out.push(c),
            }
        }
        out.push(' ');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_canonical_and_bad_ones_refused() {
        assert_eq!(language_tag("zh-cn").unwrap(), "zh-CN");
        assert_eq!(language_tag("EN").unwrap(), "en");
        assert_eq!(language_tag("zh-hant-tw").unwrap(), "zh-Hant-TW");
        assert!(language_tag("").is_err());
        assert!(language_tag("english").is_err());
        assert!(language_tag("en_US").is_err());
    }

    #[test]
    fn queries_normalise_width_case_punctuation_and_space() {
        assert_eq!(normalize_query("  ＷＩＦＩ  断了！！ "), "wifi 断了");
        assert_eq!(normalize_query("Router, Reset?"), "router reset");
        assert_eq!(normalize_query("洗衣机漏水怎么办？"), "洗衣机漏水怎么办");
    }

    #[test]
    fn markdown_becomes_plain_text_without_markup_or_html() {
        assert_eq!(
            plain_text(
                "# Title\n\n- **Turn** off the [power](http://x)\n<script>alert(1)</script>\n```\ncode\n```"
            ),
            "Title Turn off the power alert(1) code"
        );
    }

    #[test]
    fn labels_are_lower_case_and_bounded() {
        assert_eq!(label(" Router-X2 ").unwrap(), "router-x2");
        assert!(label("").is_err());
        assert!(label(&"a".repeat(65)).is_err());
    }
}
