//! Loop detection (mapping digest checklist 13: track every transaction and
//! session served and block re-entrant ones).
//!
//! Three ways a call can come back to the gateway that sent it:
//!
//! - **Through a proxy**: our own INVITE returns with the same Call-ID (and
//!   our Via under the proxy's). `route_sip_request` answers an INVITE
//!   without To tag whose Call-ID we know 482 Loop Detected.
//! - **Through a B2BUA** (a PBX that forwards the number back to us): a new
//!   Call-ID, new tags, new Via — B2BUAs keep none of those. What most keep
//!   is an unknown `X-` header (FreeSWITCH copies `X-` headers to the
//!   outgoing leg by default; Asterisk and others only when told to), so
//!   every INVITE we send carries [`LOOP_HEADER`] with the call's id, and
//!   an inbound INVITE naming a call still in progress here is refused
//!   with 482. Limits: a B2BUA that drops the header defeats it (then only
//!   the ring timeout ends the chain); a mark only matches on the instance
//!   that runs the call; and a *hairpin* — an XMPP user dialling another
//!   gateway DID through a PBX that copies the header — is refused too, as
//!   the gateway calling itself (XMPP users can call each other directly).
//! - **Through XMPP**: a JMI propose or session-initiate to a gateway JID
//!   from a JID of the gateway's own domain is the gateway calling itself
//!   (a `[[number]]` mapped to a gateway JID, say) and is refused.

use super::gateway::{Gateway, bare};
use crate::sip::message::Request;
use crate::xmpp::stanza::{self, JmiKind};

/// The header our INVITEs carry to recognise them after a B2BUA.
pub(crate) const LOOP_HEADER: &str = "X-Stox-Loop";

impl Gateway {
    /// The call an inbound INVITE loops back to: its [`LOOP_HEADER`] names
    /// a call in progress here.
    pub(crate) fn looped_call(&self, request: &Request) -> Option<String> {
        let mark = request.headers.get(LOOP_HEADER)?.trim();
        self.calls.contains_key(mark).then(|| mark.to_string())
    }

    /// Whether `from` is a JID of the gateway's own domain (its users, or
    /// the component itself): such a caller is the gateway calling itself.
    fn is_our_own_jid(&self, from: &str) -> bool {
        let domain = bare(from).rsplit('@').next().unwrap_or_default();
        domain
            .trim_end_matches('.')
            .eq_ignore_ascii_case(&self.cfg.config.xmpp.domain)
    }

    /// A JMI propose from our own domain: rejected (true) before any routing.
    pub(crate) fn refuse_looped_propose(&mut self, from: &str, to: &str, sid: &str) -> bool {
        if !self.is_our_own_jid(from) {
            return false;
        }
        tracing::warn!(
            from,
            to,
            sid,
            "JMI propose from the gateway's own domain: a loop, rejected"
        );
        self.event(super::io::CallEvent::Rejected { what: "loop" });
        let our = self.our_jid_for(to);
        self.send_stanza(stanza::jmi_message(
            &our,
            from,
            JmiKind::Reject,
            sid,
            &[],
            Some((
                "decline",
                Some("482 Loop Detected: the gateway cannot call itself"),
            )),
        ));
        true
    }

    /// A session-initiate from our own domain: IQ error (true).
    pub(crate) fn refuse_looped_initiate(&mut self, from: &str, to: &str, id: &str) -> bool {
        if !self.is_our_own_jid(from) {
            return false;
        }
        tracing::warn!(
            from,
            to,
            "session-initiate from the gateway's own domain: a loop, refused"
        );
        self.event(super::io::CallEvent::Rejected { what: "loop" });
        self.iq_fail(
            to,
            from,
            id,
            "cancel",
            "not-allowed",
            None,
            "482 Loop Detected: the gateway cannot call itself",
        );
        true
    }
}
