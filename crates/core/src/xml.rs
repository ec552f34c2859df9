//! Namespace-agnostic XML reading: firmware varies prefixes and namespaces, so every
//! lookup is by local name. roxmltree refuses DTDs, so no entity expansion.

use roxmltree::{Document, Node};

pub fn parse(text: &str) -> Result<Document<'_>, String> {
    // Some firmware sends a BOM or leading whitespace before the declaration.
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let options = roxmltree::ParsingOptions { nodes_limit: NODES_LIMIT, ..Default::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| e.to_string())?;
    // Depth in one pass: nodes come parents first, so each one's depth is its parent's
    // plus one (by node id, which indexes the document's node list).
    let mut depths: Vec<usize> = Vec::new();
    for node in doc.root().descendants() {
        let parent = node.parent().and_then(|p| depths.get(p.id().get_usize()).copied()).unwrap_or(0);
        let id = node.id().get_usize();
        if depths.len() <= id {
            depths.resize(id + 1, 0);
        }
        if let Some(slot) = depths.get_mut(id) {
            *slot = parent + 1;
        }
        if parent + 1 > DEPTH_LIMIT {
            return Err(format!("the document nests deeper than {DEPTH_LIMIT} levels"));
        }
    }
    Ok(doc)
}

/// No camera document comes near these: a reply past them is an attack or a fault, and
/// is refused before anything walks it.
const NODES_LIMIT: u32 = 100_000;
const DEPTH_LIMIT: usize = 64;

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

/// Edits to a document's text, made by byte range so that everything the edit does
/// not touch (namespaces, prefixes, unknown elements, formatting) goes back to the
/// device exactly as it came. Firmware rejects documents that lose elements it
/// expects, and no XML writer round-trips an unknown schema byte for byte, so this
/// is done by hand on top of roxmltree's node ranges.
#[derive(Debug)]
pub struct Splice<'t> {
    text: &'t str,
    edits: Vec<(std::ops::Range<usize>, String)>,
}

impl<'t> Splice<'t> {
    /// Work on `text` as [`parse`] sees it (BOM and leading blanks dropped).
    pub fn new(text: &'t str) -> Self {
        Splice { text: text.trim_start_matches('\u{feff}').trim_start(), edits: Vec::new() }
    }

    pub fn document(&self) -> Result<Document<'t>, String> {
        Document::parse(self.text).map_err(|e| e.to_string())
    }

    /// Set an element's text, whatever it was (also `<enabled/>`).
    pub fn set_text(&mut self, element: Node<'_, '_>, value: &str) {
        let value = esc(value);
        let r = element.range();
        let raw = self.text.get(r.clone()).unwrap_or("");
        match element.first_child() {
            Some(t) if t.is_text() && element.children().count() == 1 => self.edits.push((t.range(), value)),
            // Mixed content is not a setting: replace the whole inside.
            Some(_) => self.set_inner(element, value),
            None if raw.ends_with("/>") => {
                // Self-closing: write it out with the same qualified name and attributes.
                let head = raw.trim_start_matches('<').trim_end_matches("/>").trim_end();
                let qname: String = head.chars().take_while(|c| !c.is_whitespace()).collect();
                self.edits.push((r, format!("<{head}>{value}</{qname}>")));
            }
            None => {
                let (start, end) = inner_range(self.text, element);
                self.edits.push((start..end, value));
            }
        }
    }

    /// Replace an element's children with `inner` (already XML).
    pub fn set_inner(&mut self, element: Node<'_, '_>, inner: String) {
        let (start, end) = inner_range(self.text, element);
        self.edits.push((start..end, inner));
    }

    /// Remove an element entirely.
    pub fn remove(&mut self, element: Node<'_, '_>) {
        self.edits.push((element.range(), String::new()));
    }

    /// Insert XML just before an element's closing tag.
    pub fn append_child(&mut self, element: Node<'_, '_>, xml: String) {
        let (_, end) = inner_range(self.text, element);
        self.edits.push((end..end, xml));
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edited text. Overlapping edits are a programming error and are refused.
    pub fn finish(mut self) -> Result<String, String> {
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut at = 0;
        for (r, with) in &self.edits {
            if r.start < at {
                return Err("overlapping XML edits".into());
            }
            out.push_str(self.text.get(at..r.start).ok_or("edit outside the document")?);
            out.push_str(with);
            at = r.end;
        }
        out.push_str(self.text.get(at..).ok_or("edit outside the document")?);
        Ok(out)
    }
}

/// Byte range between an element's start tag and its end tag (empty for `<a></a>`;
/// the element's end for a self-closing one, which callers rewrite instead).
fn inner_range(text: &str, element: Node<'_, '_>) -> (usize, usize) {
    let r = element.range();
    match (element.first_child(), element.last_child()) {
        (Some(first), Some(last)) => (first.range().start, last.range().end),
        _ => {
            // `<a></a>`: the inside starts after the first `>`.
            let raw = text.get(r.clone()).unwrap_or("");
            match raw.find('>') {
                Some(i) if !raw.get(..=i).unwrap_or("").ends_with("/>") => (r.start + i + 1, r.start + i + 1),
                _ => (r.end, r.end),
            }
        }
    }
}

#[cfg(test)]
mod splice_tests {
    use super::*;

    #[test]
    fn a_value_is_changed_and_everything_else_kept() {
        let src = "<?xml version=\"1.0\"?>\n<SSH version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\n<enabled>true</enabled><x:odd xmlns:x=\"u\">1</x:odd>\n</SSH>";
        let mut s = Splice::new(src);
        let doc = s.document().unwrap();
        s.set_text(find(doc.root_element(), "enabled").unwrap(), "false");
        let out = s.finish().unwrap();
        assert_eq!(out, src.replace("<enabled>true</enabled>", "<enabled>false</enabled>"));
    }

    #[test]
    fn empty_and_self_closing_elements_get_text() {
        let src = "<a:R xmlns:a=\"n\"><a:host/><a:port></a:port><b>x&amp;y</b></a:R>";
        let mut s = Splice::new(src);
        let doc = s.document().unwrap();
        let root = doc.root_element();
        s.set_text(child(root, "host").unwrap(), "ntp.example<1>");
        s.set_text(child(root, "port").unwrap(), "123");
        s.set_text(child(root, "b").unwrap(), "z");
        let out = s.finish().unwrap();
        assert_eq!(out, "<a:R xmlns:a=\"n\"><a:host>ntp.example&lt;1&gt;</a:host><a:port>123</a:port><b>z</b></a:R>");
        assert!(parse(&out).is_ok());
    }

    #[test]
    fn removing_and_appending_children() {
        let src = "<L><U><id>1</id></U><U><id>2</id></U></L>";
        let mut s = Splice::new(src);
        let doc = s.document().unwrap();
        let root = doc.root_element();
        s.remove(children(root, "U").nth(1).unwrap());
        s.append_child(root, "<U><id>3</id></U>".into());
        assert_eq!(s.finish().unwrap(), "<L><U><id>1</id></U><U><id>3</id></U></L>");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_past_the_node_or_depth_limit_are_refused() {
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(super::parse(&deep).unwrap_err().contains("deeper"));
        let wide = format!("<a>{}</a>", "<b/>".repeat(200_000));
        assert!(super::parse(&wide).is_err());
        let fine = format!("<a>{}</a>", "<b>x</b>".repeat(1_000));
        assert!(super::parse(&fine).is_ok());
    }
}
