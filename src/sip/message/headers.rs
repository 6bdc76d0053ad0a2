//! Lookup and editing of [`Headers`]: case-insensitive, compact names accepted
//! in queries, order kept (Via and Route order is meaningful).

use super::names::{canonical_header_name, same_name};
use super::{Header, Headers};
use crate::sip::header::lex::{split_top, trim_wsp};

impl Headers {
    /// The CSeq, if present and parseable.
    pub fn cseq(&self) -> Option<crate::sip::header::CSeq> {
        self.get("CSeq")
            .and_then(|v| crate::sip::header::CSeq::parse(v).ok())
    }

    /// The first value of `name` (case-insensitive; `v` finds `Via`).
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = canonical_header_name(name);
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// Every line of `name`, in wire order (one item per header line, not
    /// split on commas: see [`values`](Self::values)).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        let name = canonical_header_name(name);
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// Every element of `name`: all lines, each split on commas that are not
    /// inside quotes or `<>`, trimmed, in order. This is how Via, Route,
    /// Record-Route and Contact are read (RFC 3261 §7.3.1 makes
    /// `Via: a, b` equal to two Via lines). Not meaningful for headers whose
    /// grammar has bare commas (Date, WWW-Authenticate).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.get_all(name)
            .flat_map(|line| split_top(line, ','))
            .map(|v| trim_wsp(v).to_string())
            .collect()
    }

    /// Whether a token list header (`Supported`, `Require`, `Allow`) names
    /// `token`, case-insensitively.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .iter()
            .any(|v| v.eq_ignore_ascii_case(token))
    }

    /// Appends a header line (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(header(name, value));
    }

    /// Replaces every line of `name` with one line, at the position of the
    /// first one (or at the end when there was none).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let at = self.0.iter().position(|h| same_name(&h.name, name));
        self.remove(name);
        let at = at.unwrap_or(self.0.len()).min(self.0.len());
        self.0.insert(at, header(name, value));
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !same_name(&h.name, name));
    }

    /// Inserts a line before the first existing line of `name`, or at the top
    /// when there is none: how a proxy adds its Via or a Record-Route.
    pub fn prepend(&mut self, name: &str, value: impl Into<String>) {
        let at = self
            .0
            .iter()
            .position(|h| same_name(&h.name, name))
            .unwrap_or(0);
        self.0.insert(at, header(name, value));
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lines in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
}

fn header(name: &str, value: impl Into<String>) -> Header {
    Header {
        name: canonical_header_name(name).into_owned(),
        value: value.into(),
    }
}
