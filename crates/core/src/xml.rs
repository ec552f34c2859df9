//! Namespace-agnostic XML reading: firmware varies prefixes and namespaces, so every
//! lookup is by local name. roxmltree refuses DTDs, so no entity expansion.

use roxmltree::{Document, Node};

pub fn parse(text: &str) -> Result<Document<'_>, String> {
    // Some firmware sends a BOM or leading whitespace before the declaration.
    Document::parse(text.trim_start_matches('\u{feff}').trim_start()).map_err(|e| e.to_string())
}

/// The first descendant-or-self element with this local name.
pub fn find<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|n| n.is_element() && n.tag_name().name() == local)
}

pub fn child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == local)
}

pub fn children<'a, 'i: 'a>(node: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == local)
}

pub fn descendants<'a, 'i: 'a>(node: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.descendants().filter(move |n| n.is_element() && n.tag_name().name() == local)
}

/// Trimmed text of a node (values are wrapped and padded by some firmware).
pub fn text(node: Node<'_, '_>) -> String {
    node.text().unwrap_or("").trim().to_string()
}

pub fn child_text(node: Node<'_, '_>, local: &str) -> Option<String> {
    child(node, local).map(text)
}

pub fn find_text(node: Node<'_, '_>, local: &str) -> Option<String> {
    find(node, local).map(text)
}

/// Lenient boolean: `true`/`false`, `1`/`0`, and the `flase` typo some firmware sends.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "flase" => Some(false),
        _ => None,
    }
}

pub fn child_bool(node: Node<'_, '_>, local: &str) -> Option<bool> {
    child_text(node, local).and_then(|t| parse_bool(&t))
}

/// Escape text for element content.
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
