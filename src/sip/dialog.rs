//! A SIP dialog as plain data (RFC 3261 §12): everything needed to send the next
//! in-dialog request, and nothing tied to a socket or a task, so that a later
//! issue can store it as a row and resume the call after a restart.

use super::header::{NameAddr, Via};
use super::message::{Headers, Method, Request, Response};
use super::peer::{Peer, Transport};
use super::uri::SipUri;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// One dialog, from our side's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From tag when we sent the INVITE, To tag when we received it).
    pub local_tag: String,
    /// The peer's tag; `None` until a response carries one (early UAC dialog).
    pub remote_tag: Option<String>,
    /// Our URI as written in From/To (a name-addr without tag).
    pub local_uri: String,
    /// The peer's URI as written in From/To (a name-addr without tag).
    pub remote_uri: String,
    /// The CSeq of the last request we sent.
    pub local_cseq: u32,
    /// The CSeq of the last request the peer sent, if any.
    pub remote_cseq: Option<u32>,
    /// Route header values for our requests, in order.
    pub route_set: Vec<String>,
    /// The peer's Contact URI: the Request-URI of our requests.
    pub remote_target: String,
    /// Where requests go when neither the route set nor the target is an address.
    pub peer: Peer,
    /// Our Contact URI.
    pub local_contact: String,
}

/// What every request we originate needs besides the dialog.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// Via sent-by (host[:port]) of this gateway.
    pub sent_by: &'a str,
    /// A fresh branch (starting with `z9hG4bK`).
    pub branch: &'a str,
    /// User-Agent value.
    pub user_agent: &'a str,
}

impl Dialog {
    /// The dialog a UAC gets from a response carrying a To tag (RFC 3261 §12.1.2).
    pub fn from_uac(invite: &Request, response: &Response, peer: Peer) -> Option<Dialog> {
        let h = &invite.headers;
        let from = NameAddr::parse(h.get("From")?).ok()?;
        let to = NameAddr::parse(response.headers.get("To")?).ok()?;
        let cseq = super::header::CSeq::parse(h.get("CSeq")?).ok()?.seq;
        let mut route_set: Vec<String> = response.headers.values("Record-Route");
        route_set.reverse();
        let remote_target = response
            .headers
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri)
            .unwrap_or_else(|| invite.uri.clone());
        Some(Dialog {
            call_id: h.get("Call-ID")?.to_string(),
            local_tag: from.tag()?.to_string(),
            remote_tag: to.tag().map(str::to_string),
            local_uri: without_params(&from),
            remote_uri: without_params(&to),
            local_cseq: cseq,
            remote_cseq: None,
            route_set,
            remote_target,
            peer,
            local_contact: h
                .get("Contact")
                .and_then(|c| NameAddr::parse(c).ok())
                .map(|c| c.uri)
                .unwrap_or_default(),
        })
    }

    /// The dialog a UAS creates when it answers `invite` with `local_tag`.
    pub fn from_uas(
        invite: &Request,
        local_tag: &str,
        local_contact: &str,
        peer: Peer,
    ) -> Option<Dialog> {
        let h = &invite.headers;
        let from = NameAddr::parse(h.get("From")?).ok()?;
        let to = NameAddr::parse(h.get("To")?).ok()?;
        let cseq = super::header::CSeq::parse(h.get("CSeq")?).ok()?.seq;
        let remote_target = h
            .values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri)
            .unwrap_or_else(|| from.uri.clone());
        Some(Dialog {
            call_id: h.get("Call-ID")?.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: from.tag().map(str::to_string),
            local_uri: without_params(&to),
            remote_uri: without_params(&from),
            local_cseq: 0,
            remote_cseq: Some(cseq),
            route_set: h.values("Record-Route"),
            remote_target,
            peer,
            local_contact: local_contact.to_string(),
        })
    }

    /// Builds the next in-dialog request; BYE, re-INVITE, INFO… take a new CSeq.
    pub fn request(&mut self, method: Method, origin: &Origin<'_>) -> Request {
        self.local_cseq += 1;
        let cseq = self.local_cseq;
        self.request_with_cseq(method, cseq, origin)
    }

    /// The ACK for a 2xx to our INVITE with CSeq `cseq` (RFC 3261 §13.2.2.4).
    pub fn ack(&self, cseq: u32, origin: &Origin<'_>) -> Request {
        self.request_with_cseq(Method::Ack, cseq, origin)
    }

    fn request_with_cseq(&self, method: Method, cseq: u32, origin: &Origin<'_>) -> Request {
        let mut headers = Headers::default();
        headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={};rport",
                self.peer.transport.via_token(),
                origin.sent_by,
                origin.branch
            ),
        );
        headers.push("Max-Forwards", "70");
        headers.push("From", format!("{};tag={}", self.local_uri, self.local_tag));
        match &self.remote_tag {
            Some(tag) => headers.push("To", format!("{};tag={tag}", self.remote_uri)),
            None => headers.push("To", self.remote_uri.clone()),
        }
        headers.push("Call-ID", self.call_id.clone());
        headers.push("CSeq", format!("{cseq} {}", method.as_str()));
        for route in &self.route_set {
            headers.push("Route", route.clone());
        }
        if method != Method::Ack {
            headers.push("Contact", format!("<{}>", self.local_contact));
            headers.push("User-Agent", origin.user_agent.to_string());
        }
        Request {
            method,
            uri: self.remote_target.clone(),
            headers,
            body: Vec::new(),
        }
    }

    /// Where the next in-dialog request goes: the first route, else the remote
    /// target, when either is an IP literal; otherwise the address the dialog
    /// was established with (DNS resolution of in-dialog targets is issue 4's).
    pub fn next_hop(&self) -> Peer {
        let uri = self
            .route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .map(|r| r.uri)
            .unwrap_or_else(|| self.remote_target.clone());
        uri_peer(&uri, self.peer.transport).unwrap_or(self.peer)
    }

    /// Records a request from the peer; false if its CSeq went backwards
    /// (RFC 3261 §12.2.2: answer 500).
    pub fn accept_remote_cseq(&mut self, cseq: u32) -> bool {
        match self.remote_cseq {
            Some(last) if cseq < last => false,
            _ => {
                self.remote_cseq = Some(cseq);
                true
            }
        }
    }
}

/// The socket address of a URI whose host is an IP literal.
///
/// A `sips:` URI is always reached over TLS (RFC 3261 §26.2.2), whatever its
/// `;transport=` says (the old `sips:…;transport=tcp` meant TLS over TCP too);
/// otherwise `;transport=` decides, then `default_transport`. The port
/// defaults to 5061 for TLS and 5060 for the others.
pub fn uri_peer(uri: &str, default_transport: Transport) -> Option<Peer> {
    let uri = SipUri::parse(uri).ok()?;
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let transport = if uri.scheme == super::uri::Scheme::Sips {
        Transport::Tls
    } else {
        uri.transport()
            .and_then(Transport::parse)
            .unwrap_or(default_transport)
    };
    Some(Peer {
        transport,
        addr: SocketAddr::new(ip, uri.port.unwrap_or(transport.default_port())),
    })
}

/// A From/To value without its header parameters (the tag is added per request).
fn without_params(addr: &NameAddr) -> String {
    let params: Vec<(String, Option<String>)> = addr
        .params
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("tag"))
        .cloned()
        .collect();
    NameAddr {
        display: addr.display.clone(),
        uri: addr.uri.clone(),
        params,
    }
    .to_string()
}

/// The sent-by of the top Via, for logs.
pub fn top_via_sent_by(headers: &Headers) -> Option<String> {
    let via = Via::parse(headers.values("Via").first()?).ok()?;
    Some(match via.port {
        Some(p) => format!("{}:{p}", via.host),
        None => via.host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(t: Transport, addr: &str) -> Option<Peer> {
        Some(Peer {
            transport: t,
            addr: addr.parse().unwrap(),
        })
    }

    #[test]
    fn uri_peer_picks_tls_for_sips_and_transport_tls() {
        assert_eq!(
            uri_peer("sips:bob@192.0.2.1", Transport::Udp),
            peer(Transport::Tls, "192.0.2.1:5061")
        );
        // The legacy sips:…;transport=tcp still means TLS.
        assert_eq!(
            uri_peer("sips:192.0.2.1:5071;transport=tcp", Transport::Udp),
            peer(Transport::Tls, "192.0.2.1:5071")
        );
        assert_eq!(
            uri_peer("sip:[2001:db8::1];transport=TLS;lr", Transport::Udp),
            peer(Transport::Tls, "[2001:db8::1]:5061")
        );
        // No parameter: the dialog's own transport, with its default port.
        assert_eq!(
            uri_peer("sip:192.0.2.1", Transport::Tls),
            peer(Transport::Tls, "192.0.2.1:5061")
        );
        assert_eq!(
            uri_peer("sip:192.0.2.1;transport=udp", Transport::Tls),
            peer(Transport::Udp, "192.0.2.1:5060")
        );
        assert_eq!(uri_peer("sips:pbx.example.org", Transport::Tls), None);
    }
}
