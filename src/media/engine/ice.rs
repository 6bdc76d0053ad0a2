//! ICE-lite toward the XMPP client (RFC 8445 §2.5, consent: RFC 7675).
//!
//! A lite agent never sends checks: it answers the client's Binding requests
//! with its short-term credentials and uses the address the client nominated
//! (USE-CANDIDATE), or, before nomination, the last address that passed a
//! check. Only addresses that passed a check may send DTLS or media: that is
//! what keeps a stranger who learns the port from injecting packets.

use crate::media::stun::{self, StunError};
use std::net::SocketAddr;
use std::time::Instant;

/// How long a client may go without a connectivity check before consent is
/// lost (RFC 7675 §5.1: 30 s).
pub const CONSENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One ICE-lite transport's state.
#[derive(Debug, Clone)]
pub struct IceLite {
    local_ufrag: String,
    local_pwd: String,
    remote_ufrag: Option<String>,
    verified: Vec<SocketAddr>,
    selected: Option<SocketAddr>,
    nominated: bool,
    last_check: Option<Instant>,
}

/// What a Binding request led to.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Answer with these bytes to the request's source.
    Reply(Vec<u8>),
    /// Not for us or not authentic: dropped without an answer.
    Ignored(String),
}

impl IceLite {
    /// A transport with our credentials; the client's ufrag arrives with its
    /// description (checks are accepted before that, as RFC 8445 §7.3 allows).
    pub fn new(local_ufrag: String, local_pwd: String) -> Self {
        IceLite {
            local_ufrag,
            local_pwd,
            remote_ufrag: None,
            verified: Vec::new(),
            selected: None,
            nominated: false,
            last_check: None,
        }
    }

    /// The client's ufrag, when known: checks must name it.
    pub fn set_remote_ufrag(&mut self, ufrag: Option<String>) {
        self.remote_ufrag = ufrag;
    }

    /// The address media and DTLS go to.
    pub fn selected(&self) -> Option<SocketAddr> {
        self.selected
    }

    /// Whether `from` passed a connectivity check.
    pub fn is_verified(&self, from: SocketAddr) -> bool {
        self.verified.contains(&from)
    }

    /// When the last authentic check arrived.
    pub fn last_check(&self) -> Option<Instant> {
        self.last_check
    }

    /// Answers one Binding request.
    pub fn handle_check(&mut self, now: Instant, from: SocketAddr, buf: &[u8]) -> CheckOutcome {
        let req = match stun::parse_binding_request(buf, &self.local_pwd) {
            Ok(r) => r,
            Err(StunError::NotBindingRequest) => {
                return CheckOutcome::Ignored("not a binding request".into());
            }
            Err(e) => return CheckOutcome::Ignored(format!("bad check: {e}")),
        };
        let Some((ours, theirs)) = req.username.split_once(':') else {
            return CheckOutcome::Ignored("USERNAME without ':'".into());
        };
        if ours != self.local_ufrag || self.remote_ufrag.as_deref().is_some_and(|r| r != theirs) {
            return CheckOutcome::Ignored(format!("USERNAME {} is not ours", req.username));
        }
        if req.ice_controlled.is_some() {
            // Both sides think they are controlled (the client did not see
            // that we are lite): RFC 8445 §7.3.1.1 — a lite agent stays
            // controlled, so the peer must switch.
            return CheckOutcome::Reply(stun::binding_error(
                &req.transaction_id,
                487,
                "Role Conflict",
                Some(&self.local_pwd),
            ));
        }
        self.last_check = Some(now);
        if !self.verified.contains(&from) {
            if self.verified.len() >= 16 {
                self.verified.remove(0);
            }
            self.verified.push(from);
        }
        if req.use_candidate {
            self.selected = Some(from);
            self.nominated = true;
        } else if !self.nominated {
            self.selected = Some(from);
        }
        CheckOutcome::Reply(stun::binding_success(
            &req.transaction_id,
            from,
            &self.local_pwd,
        ))
    }
}
