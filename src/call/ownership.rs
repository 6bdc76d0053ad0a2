//! Whose stanza is this? With several instances behind one XMPP domain the
//! server spreads stanzas over their component connections (ejabberd picks
//! one at random per stanza), so the runtime asks the core before feeding a
//! stanza whether this instance can place it, and otherwise finds the
//! instance that owns the call (`runtime::cluster`).

use super::gateway::{Gateway, bare};
use crate::xmpp::stanza::{self, Inbound, JmiKind};
use minidom::Element;

/// Where a stanza belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: a call we run, something that starts a new call, or not about
    /// a call at all.
    Here,
    /// A result or error for an IQ that the named instance sent (our IQ ids
    /// name their instance).
    Instance(String),
    /// About a call this instance does not know: the owner is whoever runs
    /// the Jingle session `sid` of `user` (bare JID), if anyone.
    Session {
        /// The XMPP user's bare JID.
        user: String,
        /// The Jingle session id (JMI id).
        sid: String,
        /// Whether, owned by nobody, the stanza starts a new call here (a
        /// session-initiate without JMI).
        may_start: bool,
    },
}

/// The prefix of our IQ ids that names `instance`.
pub fn iq_prefix(instance: &str) -> String {
    format!("stox~{instance}~")
}

impl Gateway {
    /// Whether this instance can place `el` (see [`Claim`]).
    pub fn claim(&self, el: &Element) -> Claim {
        let known = |from: &str, sid: &str| {
            self.by_sid
                .contains_key(&(bare(from).to_string(), sid.to_string()))
        };
        let session = |from: &str, sid: &str, may_start: bool| {
            if known(from, sid) {
                Claim::Here
            } else {
                Claim::Session {
                    user: bare(from).to_string(),
                    sid: sid.to_string(),
                    may_start,
                }
            }
        };
        if el.name() == "message" && el.attr("type") == Some("error") {
            let sid = el
                .children()
                .find(|c| c.ns() == stanza::NS_JMI)
                .and_then(|c| c.attr("id"));
            return match (sid, el.attr("from")) {
                (Some(sid), Some(from)) => session(from, sid, false),
                _ => Claim::Here,
            };
        }
        match stanza::classify(el) {
            Inbound::JingleSet { from, jingle, .. } => {
                let sid = jingle.attr("sid").unwrap_or_default();
                let starts = jingle.attr("action") == Some("session-initiate");
                session(&from, sid, starts)
            }
            Inbound::Jmi {
                kind: JmiKind::Propose,
                ..
            } => Claim::Here,
            Inbound::Jmi { from, sid, .. } => session(&from, &sid, false),
            Inbound::IqResult { id, .. } | Inbound::IqError { id, .. } => self.claim_iq_reply(&id),
            Inbound::Other => Claim::Here,
        }
    }

    fn claim_iq_reply(&self, id: &str) -> Claim {
        if self.iqs.contains_key(id) {
            return Claim::Here;
        }
        let Some(rest) = id.strip_prefix("stox~") else {
            return Claim::Here;
        };
        match rest.split_once('~') {
            Some((instance, _)) if instance != self.instance() => {
                Claim::Instance(instance.to_string())
            }
            _ => Claim::Here,
        }
    }
}
