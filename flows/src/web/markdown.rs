//! The Markdown body of a `.md` manifest as HTML that cannot carry script.
//!
//! A manifest is text written by whoever can drop a file into the manifests folder; the flow
//! page shows it to whoever opens the page. So the Markdown is parsed with `pulldown-cmark`
//! and every event is made harmless before it is written as HTML:
//!
//! - raw HTML, inline or as a block, becomes text (escaped on output); an HTML block is
//!   shown as a code block, so a reader sees what the author wrote;
//! - a link or image whose address has a scheme other than `http`, `https` or `mailto`
//!   (`javascript:`, `data:`, `vbscript:` …) points to `#` instead;
//! - everything else is written by `pulldown-cmark`, which escapes text and attributes.
//!
//! The page's Content-Security-Policy forbids script as well; this module does not rely on it.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Schemes a link or image in a manifest may use; relative addresses are always allowed.
const SAFE_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Renders Markdown to HTML with raw HTML escaped and unsafe link targets removed.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(defuse);
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// One event with its raw HTML turned into text and its link targets checked.
fn defuse(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::CodeBlock),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    }
}

/// The address itself when it is relative or uses a safe scheme, `#` otherwise.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers drop ASCII tabs and newlines inside a scheme (`java\tscript:`) and leading
    // spaces or control characters, so the scheme is read the same way here.
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme_end = cleaned.find([':', '/', '?', '#']);
    match scheme_end {
        Some(end) if cleaned[end..].starts_with(':') => {
            let scheme = cleaned[..end].to_ascii_lowercase();
            if SAFE_SCHEMES.contains(&scheme.as_str()) {
                url
            } else {
                CowStr::Borrowed("#")
            }
        }
        _ => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html =
            to_html("# Title\n\nSome *text* and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>text</em>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html =
            to_html("<script>alert(1)</script>\n\nInline <img src=x onerror=alert(2)> here.\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{html}"
        );
    }

    #[test]
    fn unsafe_link_targets_are_removed() {
        let html = to_html(
            "[a](javascript:alert(1)) [b](<JaVa\tScRiPt:alert(2)>) ![c](data:text/html,x) \
             [d](https://example.org/x) [e](other.md#part) [f](mailto:a@b.c)\n",
        );
        assert!(!html.to_ascii_lowercase().contains("javascript"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert_eq!(html.matches("href=\"#\"").count(), 2, "{html}");
        assert!(html.contains("src=\"#\""), "{html}");
        assert!(html.contains("href=\"https://example.org/x\""), "{html}");
        assert!(html.contains("href=\"other.md#part\""), "{html}");
        assert!(html.contains("href=\"mailto:a@b.c\""), "{html}");
    }
}
