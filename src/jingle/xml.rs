//! A minimal XML element tree for writing Jingle: exactly what we emit, with
//! escaping, namespace declarations only where the namespace changes, and an
//! optional indented rendering for humans (`stox translate`).

use std::fmt::Write;

/// An element under construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    name: &'static str,
    ns: &'static str,
    attrs: Vec<(&'static str, String)>,
    children: Vec<XmlElement>,
    text: Option<String>,
}

impl XmlElement {
    /// A new element in namespace `ns`.
    pub fn new(name: &'static str, ns: &'static str) -> Self {
        XmlElement {
            name,
            ns,
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl ToString) -> Self {
        self.attrs.push((name, value.to_string()));
        self
    }

    /// Adds an attribute when `value` is present.
    pub fn attr_opt<T: ToString>(self, name: &'static str, value: Option<T>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Appends a child.
    pub fn child(mut self, child: XmlElement) -> Self {
        self.children.push(child);
        self
    }

    /// Appends children.
    pub fn children(mut self, children: impl IntoIterator<Item = XmlElement>) -> Self {
        self.children.extend(children);
        self
    }

    /// Sets the text content.
    pub fn text(mut self, text: impl ToString) -> Self {
        self.text = Some(text.to_string());
        self
    }

    /// Local name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Renders on one line, as sent on the wire.
    pub fn to_compact_string(&self) -> String {
        let mut out = String::new();
        self.render(&mut out, "", None, 0);
        out
    }

    /// Renders with two-space indentation, for people.
    pub fn to_pretty_string(&self) -> String {
        let mut out = String::new();
        self.render(&mut out, "", Some("  "), 0);
        out.push('\n');
        out
    }

    fn render(&self, out: &mut String, parent_ns: &str, indent: Option<&str>, depth: usize) {
        if let Some(unit) = indent {
            if depth > 0 {
                out.push('\n');
            }
            for _ in 0..depth {
                out.push_str(unit);
            }
        }
        out.push('<');
        out.push_str(self.name);
        if self.ns != parent_ns {
            let _ = write!(out, " xmlns='{}'", escape(self.ns));
        }
        for (name, value) in &self.attrs {
            let _ = write!(out, " {name}='{}'", escape(value));
        }
        if self.children.is_empty() && self.text.is_none() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(text) = &self.text {
            out.push_str(&escape(text));
        }
        for child in &self.children {
            child.render(out, self.ns, indent, depth + 1);
        }
        if let Some(unit) = indent
            && !self.children.is_empty()
        {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(unit);
            }
        }
        let _ = write!(out, "</{}>", self.name);
    }
}

/// Escapes text for use in attribute values (single-quoted) and element text.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['<', '>', '&', '\'', '"', '\t', '\n', '\r']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            // Attribute-value normalisation would turn these into spaces (XML 1.0 §3.3.3).
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_namespace_only_where_it_changes_and_escapes() {
        let el = XmlElement::new("a", "urn:x")
            .attr("v", "1'<2")
            .child(XmlElement::new("b", "urn:x"))
            .child(XmlElement::new("c", "urn:y").text("x&y"));
        assert_eq!(
            el.to_compact_string(),
            "<a xmlns='urn:x' v='1&apos;&lt;2'><b/><c xmlns='urn:y'>x&amp;y</c></a>"
        );
    }
}
