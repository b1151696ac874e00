//! HTML message bodies are sanitised on write with [`ammonia`], against an allow-list: the
//! text-formatting elements a help-desk reply uses, links and images by `http`, `https` or
//! `mailto` URL only, no `style`, `class` or event-handler attributes, no comments. Anything
//! else (scripts, styles, SVG, MathML, frames, forms, `data:` and `javascript:` URLs, however
//! encoded) is removed; `script` and `style` lose their content too. Links get
//! `rel="noopener noreferrer nofollow"`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Elements kept.
const TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Attributes kept, per element.
const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title"]),
    ("img", &["src", "alt", "title", "width", "height"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan", "scope"]),
    ("ol", &["start"]),
    ("q", &["cite"]),
    ("blockquote", &["cite"]),
];

/// URL schemes kept in `href`, `src` and `cite`.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect::<HashSet<_>>())
        .tag_attributes(
            ATTRIBUTES
                .iter()
                .map(|(tag, attributes)| (*tag, attributes.iter().copied().collect()))
                .collect::<HashMap<_, HashSet<_>>>(),
        )
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean_content_tags(["script", "style"].into_iter().collect())
        .strip_comments(true);
    builder
});

/// The sanitised form of an HTML body.
pub fn sanitise(html: &str) -> String {
    SANITISER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known filter-evasion cases (OWASP XSS Filter Evasion Cheat Sheet and friends).
    const CORPUS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "<svg/onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<img src=\"x\"onerror=\"alert(1)\">",
        "<img src=x onerror=alert(1)//>",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=javascript:alert('XSS')>",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
        "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
        "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>",
        "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
        "<IMG SRC=\"jav\tascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
        "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
        "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
        "<a href=\"jav&#x61;script:alert(1)\">click</a>",
        "<a href=\"javascript&colon;alert(1)\">click</a>",
        "<a href=\"  JAVASCRIPT:alert(1)\">click</a>",
        "<a href=\"vbscript:msgbox(1)\">click</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">click</a>",
        "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
        "<a href=\"/relative/path\" onclick=\"alert(1)\">relative</a>",
        "<BODY ONLOAD=alert('XSS')>",
        "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
        "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
        "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
        "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
        "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">",
        "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
        "<DIV STYLE=\"width: expression(alert('XSS'));\">",
        "<STYLE>@import'http://xss.example/xss.css';</STYLE>",
        "<STYLE>BODY{-moz-binding:url(\"http://xss.example/xssmoz.xml#xss\")}</STYLE>",
        "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
        "<span style=\"color:red\" class=\"x\" id=\"y\">styled</span>",
        "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
        "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
        "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.example/scriptlet.html\"></OBJECT>",
        "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH\">",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">x</button></form>",
        "<details open ontoggle=alert(1)>",
        "<video><source onerror=\"alert(1)\">",
        "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<base href=\"javascript:alert('XSS');//\">",
        "\"><script>alert(document.cookie)</script>",
        "<<SCRIPT>alert(\"XSS\");//<</SCRIPT>",
        "<a href=\"https://example.com\" target=\"_blank\" onmouseover=\"alert(1)\">ok</a>",
    ];

    /// Every tag in sanitised output (text `<` comes out escaped, so each `<` opens a tag).
    fn tags(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or_default().to_lowercase())
            .collect()
    }

    fn assert_harmless(input: &str) {
        let output = sanitise(input);
        for tag in tags(&output) {
            let name = tag
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or_default();
            assert!(
                TAGS.contains(&name),
                "{input:?} kept element {name:?}: {output:?}"
            );
            for bad in [
                " on",
                "javascript",
                "vbscript",
                "data:",
                "style",
                "expression",
                "srcdoc",
                "formaction",
                "class=",
            ] {
                assert!(
                    !tag.contains(bad),
                    "{input:?} kept {bad:?} in <{tag}>: {output:?}"
                );
            }
            if let Some(at) = tag.find("href=\"").or_else(|| tag.find("src=\"")) {
                let url = tag[at..].split('"').nth(1).unwrap_or_default();
                assert!(
                    ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|scheme| url.starts_with(scheme)),
                    "{input:?} kept the URL {url:?}: {output:?}"
                );
            }
        }
        assert!(
            !output.to_lowercase().contains("alert(1)</script"),
            "{input:?}: {output:?}"
        );
    }

    #[test]
    fn every_known_filter_evasion_comes_out_harmless() {
        for input in CORPUS {
            assert_harmless(input);
        }
    }

    #[test]
    fn scripts_and_styles_lose_their_content() {
        assert_eq!(sanitise("a<script>alert(1)</script>b"), "ab");
        assert_eq!(sanitise("a<style>p{color:red}</style>b"), "ab");
        assert_eq!(sanitise("<svg/onload=alert(1)>"), "");
    }

    #[test]
    fn formatting_and_plain_links_are_kept() {
        assert_eq!(
            sanitise("<p>Hello <b>Li</b>, see <a href=\"https://help.example/e3\">E3</a></p>"),
            "<p>Hello <b>Li</b>, see <a href=\"https://help.example/e3\" rel=\"noopener noreferrer nofollow\">E3</a></p>"
        );
        assert_eq!(
            sanitise("<ul><li>洗衣机</li><li>E3</li></ul>"),
            "<ul><li>洗衣机</li><li>E3</li></ul>"
        );
    }

    #[test]
    fn markup_in_text_stays_text() {
        assert_eq!(
            sanitise("1 &lt; 2 &amp; <i>x</i>"),
            "1 &lt; 2 &amp; <i>x</i>"
        );
    }
}
