//! Reading Jingle XML into the [model](super::model).
//!
//! Lenient where real software is sloppy and the meaning is still clear (missing
//! `jabber:client` namespace on a pasted `<iq>`, a bare `<content>` or
//! `<description>`, obsolete namespaces from XEP examples, whitespace around a
//! fingerprint); strict where a value would otherwise be guessed (a priority that
//! does not fit 32 bits, a port that is not a number). Every error names the
//! element, the attribute and the line.

use super::model::*;
use super::ns;
use roxmltree::{Document, Node};
use std::fmt;
use std::str::FromStr;

/// Why a piece of Jingle XML could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not well-formed XML.
    Xml {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The XML reader's explanation.
        message: String,
    },
    /// The root element is none of `<iq>`, `<jingle>`, `<content>`, `<description>`.
    UnexpectedRoot {
        /// The root's local name.
        name: String,
        /// 1-based line.
        line: u32,
    },
    /// An `<iq>` without a `<jingle>` child.
    NoJingle {
        /// 1-based line of the `<iq>`.
        line: u32,
    },
    /// A required attribute is absent.
    MissingAttribute {
        /// Element local name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
        /// 1-based line.
        line: u32,
    },
    /// An attribute's value is not of the required form.
    InvalidAttribute {
        /// Element local name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
        /// The offending value.
        value: String,
        /// What was expected, in words.
        expected: &'static str,
        /// 1-based line.
        line: u32,
    },
    /// An element's text is not of the required form.
    InvalidText {
        /// Element local name.
        element: &'static str,
        /// The offending text.
        text: String,
        /// What was expected, in words.
        expected: &'static str,
        /// 1-based line.
        line: u32,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Xml {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: malformed XML: {message}"),
            ParseError::UnexpectedRoot { name, line } => write!(
                f,
                "line {line}: <{name}> is not an <iq>, <jingle>, <content> or <description> element"
            ),
            ParseError::NoJingle { line } => {
                write!(
                    f,
                    "line {line}: <iq> carries no <jingle xmlns='{}'>",
                    ns::JINGLE
                )
            }
            ParseError::MissingAttribute {
                element,
                attribute,
                line,
            } => write!(
                f,
                "line {line}: <{element}> lacks the required '{attribute}' attribute"
            ),
            ParseError::InvalidAttribute {
                element,
                attribute,
                value,
                expected,
                line,
            } => write!(
                f,
                "line {line}: <{element}> attribute {attribute}='{value}' is not {expected}"
            ),
            ParseError::InvalidText {
                element,
                text,
                expected,
                line,
            } => write!(
                f,
                "line {line}: <{element}> text '{text}' is not {expected}"
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses Jingle XML text: an `<iq>` holding a `<jingle>`, a `<jingle>`, a bare
/// `<content>`, or a bare RTP `<description>` (wrapped in a content named after
/// its media). Leading whitespace and log indentation are accepted.
pub fn parse_jingle(text: &str) -> Result<Jingle, ParseError> {
    let untrimmed = text.trim_start_matches('\u{feff}');
    let text = untrimmed.trim();
    // Line numbers must count the caller's lines, including the leading blank ones.
    let skipped_lines = untrimmed[..untrimmed.len() - untrimmed.trim_start().len()]
        .matches('\n')
        .count() as u32;
    let parsed = Document::parse(text)
        .map_err(|e| {
            let pos = e.pos();
            let mut message = e.to_string();
            // roxmltree appends " at L:C", which we already report.
            if let Some(at) = message.rfind(" at ")
                && message[at + 4..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ':')
            {
                message.truncate(at);
            }
            ParseError::Xml {
                line: pos.row,
                column: pos.col,
                message,
            }
        })
        .and_then(|doc| jingle_from_root(&doc, doc.root_element()));
    parsed.map_err(|e| e.shifted(skipped_lines))
}

impl ParseError {
    /// The same error with its line number moved down by `lines`.
    fn shifted(mut self, lines: u32) -> ParseError {
        match &mut self {
            ParseError::Xml { line, .. }
            | ParseError::UnexpectedRoot { line, .. }
            | ParseError::NoJingle { line }
            | ParseError::MissingAttribute { line, .. }
            | ParseError::InvalidAttribute { line, .. }
            | ParseError::InvalidText { line, .. } => *line += lines,
        }
        self
    }
}

fn jingle_from_root(doc: &Document, root: Node) -> Result<Jingle, ParseError> {
    match root.tag_name().name() {
        "iq" => {
            let jingle = root
                .children()
                .find(|c| c.is_element() && c.tag_name().name() == "jingle")
                .ok_or(ParseError::NoJingle {
                    line: line_of(doc, root),
                })?;
            jingle_element(doc, jingle)
        }
        "jingle" => jingle_element(doc, root),
        "content" => Ok(Jingle {
            contents: vec![content(doc, root)?],
            ..Jingle::default()
        }),
        "description" if root.tag_name().namespace() == Some(ns::RTP) => {
            let description = rtp_description(doc, root)?;
            Ok(Jingle {
                contents: vec![Content {
                    name: description.media.clone(),
                    description: Some(Description::Rtp(description)),
                    ..Content::default()
                }],
                ..Jingle::default()
            })
        }
        other => Err(ParseError::UnexpectedRoot {
            name: other.to_string(),
            line: line_of(doc, root),
        }),
    }
}

/// Parses an already-located `<jingle/>` node.
fn jingle_element(doc: &Document, node: Node) -> Result<Jingle, ParseError> {
    let mut jingle = Jingle {
        action: attr_string(node, "action"),
        sid: attr_string(node, "sid"),
        initiator: attr_string(node, "initiator"),
        responder: attr_string(node, "responder"),
        ..Jingle::default()
    };
    for child in elements(node) {
        match (child.tag_name().name(), child.tag_name().namespace()) {
            ("content", _) => jingle.contents.push(content(doc, child)?),
            ("group", Some(ns::GROUPING)) => jingle.groups.push(group(doc, child)?),
            _ => jingle.unknown.push(name_of(child)),
        }
    }
    Ok(jingle)
}

fn content(doc: &Document, node: Node) -> Result<Content, ParseError> {
    let mut content = Content {
        creator: match node.attribute("creator") {
            None | Some("initiator") => Creator::Initiator,
            Some("responder") => Creator::Responder,
            Some(other) => {
                return Err(invalid(
                    doc,
                    node,
                    "content",
                    "creator",
                    other,
                    "initiator or responder",
                ));
            }
        },
        name: required(doc, node, "content", "name")?.to_string(),
        senders: optional_senders(doc, node, "content")?,
        disposition: attr_string(node, "disposition"),
        ..Content::default()
    };
    for child in elements(node) {
        match (child.tag_name().name(), child.tag_name().namespace()) {
            ("description", Some(ns::RTP)) => {
                content.description = Some(Description::Rtp(rtp_description(doc, child)?))
            }
            ("description", _) => content.description = Some(Description::Other(name_of(child))),
            ("transport", Some(ns::ICE_UDP | ns::ICE_UDP_LEGACY)) => {
                content.transport = Some(Transport::IceUdp(ice_udp(doc, child)?))
            }
            ("transport", Some(ns::RAW_UDP)) => {
                content.transport = Some(Transport::RawUdp(raw_udp(doc, child)?))
            }
            ("transport", _) => content.transport = Some(Transport::Other(name_of(child))),
            _ => content.unknown.push(name_of(child)),
        }
    }
    Ok(content)
}

fn rtp_description(doc: &Document, node: Node) -> Result<RtpDescription, ParseError> {
    const EL: &str = "description";
    let mut d = RtpDescription {
        media: required(doc, node, EL, "media")?.to_string(),
        ssrc: optional_number(doc, node, EL, "ssrc")?,
        maxptime: optional_number(doc, node, EL, "maxptime")?,
        ..RtpDescription::default()
    };
    for child in elements(node) {
        let ns = child.tag_name().namespace().unwrap_or("");
        match (child.tag_name().name(), ns) {
            ("payload-type", ns::RTP) => d.payload_types.push(payload_type(doc, child)?),
            ("bandwidth", ns::RTP) => {
                let text = child.text().unwrap_or("").trim();
                d.bandwidth.push(Bandwidth {
                    kind: required(doc, child, "bandwidth", "type")?.to_string(),
                    value: text.parse().map_err(|_| ParseError::InvalidText {
                        element: "bandwidth",
                        text: text.to_string(),
                        expected: "a whole number",
                        line: line_of(doc, child),
                    })?,
                });
            }
            ("rtcp-mux", ns::RTP) => d.rtcp_mux = true,
            ("rtcp-reduced-size", ns::RTP) => d.rtcp_reduced_size = true,
            ("encryption", ns::RTP) => d.encryption = Some(encryption(doc, child)?),
            ("rtcp-fb", ns::RTCP_FB) => d.rtcp_fb.push(rtcp_fb(doc, child)?),
            ("rtcp-fb-trr-int", ns::RTCP_FB) => {
                d.rtcp_fb_trr_int = Some(required_number(doc, child, "rtcp-fb-trr-int", "value")?)
            }
            ("rtp-hdrext", ns::RTP_HDREXT) => d.hdrext.push(RtpHdrext {
                id: required_number(doc, child, "rtp-hdrext", "id")?,
                uri: required(doc, child, "rtp-hdrext", "uri")?.to_string(),
                senders: optional_senders(doc, child, "rtp-hdrext")?,
            }),
            ("extmap-allow-mixed", ns::RTP_HDREXT) => d.extmap_allow_mixed = true,
            ("source", ns::SSMA) => d.sources.push(source(doc, child)?),
            ("ssrc-group", ns::SSMA) => d.ssrc_groups.push(SsrcGroup {
                semantics: required(doc, child, "ssrc-group", "semantics")?.to_string(),
                sources: elements(child)
                    .filter(|s| s.tag_name().name() == "source")
                    .map(|s| required_number(doc, s, "source", "ssrc"))
                    .collect::<Result<_, _>>()?,
            }),
            ("stream", ns::MSID) => d.msid.push(Msid {
                id: required(doc, child, "stream", "id")?.to_string(),
                track: attr_string(child, "track"),
            }),
            _ => d.unknown.push(name_of(child)),
        }
    }
    Ok(d)
}

fn payload_type(doc: &Document, node: Node) -> Result<PayloadType, ParseError> {
    const EL: &str = "payload-type";
    let id: u8 = required_number(doc, node, EL, "id")?;
    if id > 127 {
        return Err(invalid(
            doc,
            node,
            EL,
            "id",
            &id.to_string(),
            "a payload type 0-127",
        ));
    }
    let mut pt = PayloadType {
        id,
        name: attr_string(node, "name"),
        clockrate: optional_number(doc, node, EL, "clockrate")?,
        channels: optional_number(doc, node, EL, "channels")?,
        ptime: optional_number(doc, node, EL, "ptime")?,
        maxptime: optional_number(doc, node, EL, "maxptime")?,
        ..PayloadType::default()
    };
    for child in elements(node) {
        match (child.tag_name().name(), child.tag_name().namespace()) {
            ("parameter", _) => pt.parameters.push(Parameter {
                name: attr_string(child, "name"),
                value: attr_string(child, "value"),
            }),
            ("rtcp-fb", Some(ns::RTCP_FB)) => pt.rtcp_fb.push(rtcp_fb(doc, child)?),
            ("rtcp-fb-trr-int", Some(ns::RTCP_FB)) => {
                pt.rtcp_fb_trr_int = Some(required_number(doc, child, "rtcp-fb-trr-int", "value")?)
            }
            _ => {}
        }
    }
    Ok(pt)
}

fn encryption(doc: &Document, node: Node) -> Result<Encryption, ParseError> {
    let mut e = Encryption {
        required: optional_bool(doc, node, "encryption", "required")?,
        ..Encryption::default()
    };
    for child in elements(node) {
        match child.tag_name().name() {
            "crypto" => e.crypto.push(Crypto {
                tag: required(doc, child, "crypto", "tag")?.to_string(),
                crypto_suite: required(doc, child, "crypto", "crypto-suite")?.to_string(),
                key_params: required(doc, child, "crypto", "key-params")?.to_string(),
                session_params: attr_string(child, "session-params"),
            }),
            "zrtp-hash" => e.zrtp_hash.push(ZrtpHash {
                version: required(doc, child, "zrtp-hash", "version")?.to_string(),
                value: child.text().unwrap_or("").trim().to_string(),
            }),
            _ => {}
        }
    }
    Ok(e)
}

fn rtcp_fb(doc: &Document, node: Node) -> Result<RtcpFb, ParseError> {
    Ok(RtcpFb {
        kind: required(doc, node, "rtcp-fb", "type")?.to_string(),
        subtype: attr_string(node, "subtype"),
    })
}

fn source(doc: &Document, node: Node) -> Result<Source, ParseError> {
    Ok(Source {
        ssrc: required_number(doc, node, "source", "ssrc")?,
        parameters: elements(node)
            .filter(|p| p.tag_name().name() == "parameter")
            .map(|p| {
                Ok((
                    required(doc, p, "parameter", "name")?.to_string(),
                    attr_string(p, "value"),
                ))
            })
            .collect::<Result<_, ParseError>>()?,
    })
}

fn group(doc: &Document, node: Node) -> Result<Group, ParseError> {
    Ok(Group {
        semantics: required(doc, node, "group", "semantics")?.to_string(),
        contents: elements(node)
            .filter(|c| c.tag_name().name() == "content")
            .map(|c| required(doc, c, "content", "name").map(str::to_string))
            .collect::<Result<_, _>>()?,
    })
}

fn ice_udp(doc: &Document, node: Node) -> Result<IceUdpTransport, ParseError> {
    let mut t = IceUdpTransport {
        ufrag: attr_string(node, "ufrag"),
        pwd: attr_string(node, "pwd"),
        ..IceUdpTransport::default()
    };
    for child in elements(node) {
        match (child.tag_name().name(), child.tag_name().namespace()) {
            ("candidate", _) => t.candidates.push(ice_candidate(doc, child)?),
            ("remote-candidate", _) => t.remote_candidates.push(RemoteCandidate {
                component: required_number(doc, child, "remote-candidate", "component")?,
                ip: required(doc, child, "remote-candidate", "ip")?.to_string(),
                port: required_number(doc, child, "remote-candidate", "port")?,
            }),
            ("fingerprint", Some(ns::DTLS)) => t.fingerprints.push(fingerprint(doc, child)?),
            ("gathering-complete", _) => t.end_of_candidates = true,
            _ => t.unknown.push(name_of(child)),
        }
    }
    Ok(t)
}

fn ice_candidate(doc: &Document, node: Node) -> Result<IceCandidate, ParseError> {
    const EL: &str = "candidate";
    Ok(IceCandidate {
        component: required_number(doc, node, EL, "component")?,
        foundation: required(doc, node, EL, "foundation")?.to_string(),
        generation: optional_number(doc, node, EL, "generation")?,
        id: attr_string(node, "id"),
        ip: required(doc, node, EL, "ip")?.to_string(),
        network: optional_number(doc, node, EL, "network")?,
        port: required_number(doc, node, EL, "port")?,
        priority: required_number(doc, node, EL, "priority")?,
        protocol: required(doc, node, EL, "protocol")?.to_ascii_lowercase(),
        rel_addr: attr_string(node, "rel-addr"),
        rel_port: optional_number(doc, node, EL, "rel-port")?,
        kind: required(doc, node, EL, "type")?.to_string(),
        tcptype: attr_string(node, "tcptype"),
    })
}

fn fingerprint(doc: &Document, node: Node) -> Result<Fingerprint, ParseError> {
    let value: String = node
        .text()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if value.is_empty() {
        return Err(ParseError::InvalidText {
            element: "fingerprint",
            text: String::new(),
            expected: "a hex fingerprint",
            line: line_of(doc, node),
        });
    }
    Ok(Fingerprint {
        hash: required(doc, node, "fingerprint", "hash")?.to_string(),
        setup: attr_string(node, "setup"),
        value,
        required: optional_bool(doc, node, "fingerprint", "required")?,
    })
}

fn raw_udp(doc: &Document, node: Node) -> Result<RawUdpTransport, ParseError> {
    let mut t = RawUdpTransport::default();
    for child in elements(node) {
        match (child.tag_name().name(), child.tag_name().namespace()) {
            ("candidate", _) => t.candidates.push(RawCandidate {
                component: required_number(doc, child, "candidate", "component")?,
                generation: optional_number(doc, child, "candidate", "generation")?,
                id: attr_string(child, "id"),
                ip: required(doc, child, "candidate", "ip")?.to_string(),
                port: required_number(doc, child, "candidate", "port")?,
            }),
            ("fingerprint", Some(ns::DTLS)) => t.fingerprints.push(fingerprint(doc, child)?),
            _ => t.unknown.push(name_of(child)),
        }
    }
    Ok(t)
}

// ---- small helpers -------------------------------------------------------------

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

fn name_of(node: Node) -> XmlName {
    XmlName {
        ns: node.tag_name().namespace().unwrap_or("").to_string(),
        name: node.tag_name().name().to_string(),
    }
}

fn line_of(doc: &Document, node: Node) -> u32 {
    doc.text_pos_at(node.range().start).row
}

fn attr_string(node: Node, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_string)
}

fn required<'a>(
    doc: &Document,
    node: Node<'a, '_>,
    element: &'static str,
    attribute: &'static str,
) -> Result<&'a str, ParseError> {
    node.attribute(attribute)
        .ok_or(ParseError::MissingAttribute {
            element,
            attribute,
            line: line_of(doc, node),
        })
}

fn invalid(
    doc: &Document,
    node: Node,
    element: &'static str,
    attribute: &'static str,
    value: &str,
    expected: &'static str,
) -> ParseError {
    ParseError::InvalidAttribute {
        element,
        attribute,
        value: value.to_string(),
        expected,
        line: line_of(doc, node),
    }
}

fn number<T: FromStr>(
    doc: &Document,
    node: Node,
    element: &'static str,
    attribute: &'static str,
    value: &str,
) -> Result<T, ParseError> {
    value.trim().parse().map_err(|_| {
        let expected = match std::any::type_name::<T>() {
            "u8" => "a number 0-255",
            "u16" => "a number 0-65535",
            "u32" => "a 32-bit unsigned integer",
            _ => "a whole number",
        };
        invalid(doc, node, element, attribute, value, expected)
    })
}

fn required_number<T: FromStr>(
    doc: &Document,
    node: Node,
    element: &'static str,
    attribute: &'static str,
) -> Result<T, ParseError> {
    let value = required(doc, node, element, attribute)?;
    number(doc, node, element, attribute, value)
}

fn optional_number<T: FromStr>(
    doc: &Document,
    node: Node,
    element: &'static str,
    attribute: &'static str,
) -> Result<Option<T>, ParseError> {
    node.attribute(attribute)
        .map(|v| number(doc, node, element, attribute, v))
        .transpose()
}

fn optional_bool(
    doc: &Document,
    node: Node,
    element: &'static str,
    attribute: &'static str,
) -> Result<Option<bool>, ParseError> {
    match node.attribute(attribute) {
        None => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => Err(invalid(
            doc,
            node,
            element,
            attribute,
            other,
            "a boolean (0, 1, true, false)",
        )),
    }
}

fn optional_senders(
    doc: &Document,
    node: Node,
    element: &'static str,
) -> Result<Option<Senders>, ParseError> {
    match node.attribute("senders") {
        None => Ok(None),
        Some("both") => Ok(Some(Senders::Both)),
        Some("initiator") => Ok(Some(Senders::Initiator)),
        Some("responder") => Ok(Some(Senders::Responder)),
        Some("none") => Ok(Some(Senders::None)),
        Some(other) => Err(invalid(
            doc,
            node,
            element,
            "senders",
            other,
            "one of both, initiator, responder, none",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_count_leading_blank_lines() {
        let err = parse_jingle(
            "\n\n<iq>\n<jingle xmlns='urn:xmpp:jingle:1'>\n<content name='a'></jingle></iq>",
        )
        .unwrap_err();
        assert!(matches!(err, ParseError::Xml { line: 5, .. }), "{err}");
        assert!(
            !err.to_string().contains(" at 5:"),
            "position reported twice: {err}"
        );
        let err = parse_jingle("\n<content name='a'>\n<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n<payload-type id='x'/></description></content>")
            .unwrap_err();
        assert!(
            matches!(err, ParseError::InvalidAttribute { line: 4, .. }),
            "{err}"
        );
    }
}
