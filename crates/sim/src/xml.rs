//! Small XML helpers: escaping for the documents the simulator writes, and
//! namespace-agnostic lookups (by local name) in the documents it reads, because
//! clients, like firmware, vary their prefixes and namespaces.

use roxmltree::{Document, Node};

/// Escape text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>` with the text escaped.
pub fn el(name: &str, text: impl std::fmt::Display) -> String {
    format!("<{name}>{}</{name}>", esc(&text.to_string()))
}

/// The first descendant-or-self element with this local name.
pub fn find<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|n| n.is_element() && n.tag_name().name() == local)
}

/// A direct child element with this local name.
pub fn child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == local)
}

/// All direct child elements with this local name.
pub fn children<'a, 'i: 'a>(node: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == local)
}

/// Trimmed text of a direct child element.
pub fn child_text(node: Node<'_, '_>, local: &str) -> Option<String> {
    child(node, local).map(|n| n.text().unwrap_or("").trim().to_string())
}

/// Trimmed text of the first descendant with this local name.
pub fn find_text(node: Node<'_, '_>, local: &str) -> Option<String> {
    find(node, local).map(|n| n.text().unwrap_or("").trim().to_string())
}

/// `true`/`false` (and `1`/`0`) of a direct child.
pub fn child_bool(node: Node<'_, '_>, local: &str) -> Option<bool> {
    match child_text(node, local)?.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Parse a document; DTDs are refused (roxmltree's default), so entity expansion
/// attacks cannot reach the simulator.
pub fn parse(text: &str) -> Result<Document<'_>, roxmltree::Error> {
    Document::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_prefixes_and_namespaces() {
        let doc =
            parse(r#"<a:Root xmlns:a="urn:x"><b:Item xmlns:b="urn:y"> 5 </b:Item><Flag>true</Flag></a:Root>"#).unwrap();
        let root = doc.root_element();
        assert_eq!(child_text(root, "Item").as_deref(), Some("5"));
        assert_eq!(child_bool(root, "Flag"), Some(true));
        assert!(find(root, "Missing").is_none());
        assert_eq!(esc("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
    }
}
