//! REGISTER to trunks that want it (`[[trunk]] register = true`): the
//! registration as plain data, digest challenges answered, refresh before
//! expiry, exponential back-off after a failure, and a fresh attempt when the
//! transport to the trunk fails.
//!
//! The registered Contact is `sip:<username>@<our sent-by>`; the trunk sends
//! calls there, and inbound routing falls back from the Request-URI user to
//! the To user, where the DID is.

use super::gateway::Gateway;
use super::io::CallEvent;
use crate::sip::digest::{self, Credentials};
use crate::sip::message::{Method, Request, Response};
use crate::sip::peer::Peer;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// First retry delay after a failed registration; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(30);
/// Longest wait between registration attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(900);

/// One trunk's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Call-ID kept across refreshes (RFC 3261 §10.2.4).
    pub call_id: String,
    /// From tag.
    pub tag: String,
    /// Last CSeq sent.
    pub cseq: u32,
    /// Branch of the REGISTER in flight.
    pub branch: Option<String>,
    /// Whether the registrar accepted us, and for how long (seconds granted).
    pub registered: Option<u32>,
    /// Failed attempts in a row (for back-off).
    pub failures: u32,
    /// Credentials already sent for the request in flight.
    pub auth_attempts: u8,
    /// The trunk target the last REGISTER went to.
    #[serde(default)]
    pub peer: Option<Peer>,
}

impl Gateway {
    /// Schedules the first REGISTER of every trunk that wants one.
    pub(crate) fn schedule_registrations(&mut self) {
        let trunks: Vec<String> = self
            .cfg
            .config
            .trunks
            .iter()
            .filter(|t| t.register && self.live_target(&t.name).is_some())
            .map(|t| t.name.clone())
            .collect();
        for trunk in trunks {
            self.register_timers.set(trunk, self.now);
        }
    }

    /// Sends the REGISTERs that are due.
    pub(crate) fn register_due(&mut self) {
        while let Some(trunk) = self.register_timers.pop_due(self.now) {
            self.send_register(&trunk, None);
        }
    }

    fn send_register(&mut self, trunk: &str, challenge: Option<(&Response, u16)>) {
        let Some(cfg) = self
            .cfg
            .config
            .trunks
            .iter()
            .find(|t| t.name == trunk)
            .cloned()
        else {
            return;
        };
        let Some(peer) = self.live_target(trunk) else {
            return;
        };
        let Some(auth) = cfg.auth.clone() else {
            return;
        };
        if !self.registrations.contains_key(trunk) {
            let call_id = format!(
                "{}@{}",
                self.fresh(10),
                super::outbound::host_of(&self.cfg.sent_by)
            );
            let tag = self.fresh(6);
            self.registrations.insert(
                trunk.to_string(),
                Registration {
                    call_id,
                    tag,
                    cseq: 0,
                    branch: None,
                    registered: None,
                    failures: 0,
                    auth_attempts: 0,
                    peer: None,
                },
            );
        }
        let branch = self.branch();
        let uri = format!("sip:{}", cfg.hostport());
        let aor = format!("sip:{}@{}", auth.username, cfg.host);
        let contact = format!("<{}>", self.our_contact(&auth.username, peer.transport));
        let mut authorization = None;
        if let Some((response, status)) = challenge {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let challenges: Vec<digest::Challenge> =
                digest::challenges_from(response.headers.get_all(header))
                    .into_iter()
                    .filter(|c| auth.realm.as_ref().is_none_or(|r| *r == c.realm))
                    .collect();
            let Some(ch) = digest::pick_strongest(&challenges).cloned() else {
                self.registration_failed(trunk, "no usable digest challenge");
                return;
            };
            let cnonce = self.fresh(8);
            let nc = self.nonces.next(&ch.realm, &ch.nonce);
            let creds = Credentials {
                username: auth.username.clone(),
                password: auth.password.clone(),
            };
            match digest::authorize(&ch, &creds, "REGISTER", &uri, b"", &cnonce, nc) {
                Ok(a) => {
                    let answer = if status == 401 {
                        "Authorization"
                    } else {
                        "Proxy-Authorization"
                    };
                    authorization = Some((answer, a.value));
                }
                Err(e) => {
                    self.registration_failed(trunk, &format!("cannot answer the challenge: {e}"));
                    return;
                }
            }
        }
        let reg = self.registrations.get_mut(trunk).expect("inserted above");
        reg.cseq += 1;
        reg.branch = Some(branch.clone());
        reg.peer = Some(peer);
        let (tag, call_id, cseq) = (reg.tag.clone(), reg.call_id.clone(), reg.cseq);
        let mut headers = self.request_headers(
            peer.transport,
            &branch,
            &aor,
            &tag,
            &aor,
            &call_id,
            &format!("{cseq} REGISTER"),
        );
        if let Some(proxy) = &cfg.outbound_proxy {
            headers.push("Route", proxy.route());
        }
        headers.push("Contact", contact);
        headers.push("Expires", cfg.register_expires.to_string());
        if let Some((name, value)) = authorization {
            headers.push(name, value);
        }
        headers.push("User-Agent", self.cfg.user_agent.clone());
        let request = Request {
            method: Method::Register,
            uri,
            headers,
            body: Vec::new(),
        };
        self.register_branches.insert(branch, trunk.to_string());
        self.tx.send_request(request, peer, self.now);
    }

    /// A response to one of our REGISTERs; false if the branch was not one.
    pub(crate) fn register_answered(&mut self, branch: &str, response: &Response) -> bool {
        if response.status < 200 {
            return self.register_branches.contains_key(branch);
        }
        let Some(trunk) = self.register_branches.remove(branch) else {
            return false;
        };
        let status = response.status;
        let Some(reg) = self.registrations.get(&trunk) else {
            return true;
        };
        let peer = reg.peer;
        if let Some(peer) = peer {
            if status == 503 {
                // RFC 3263 §4.3: on to the next target, if one is left.
                if let Some(reg) = self.registrations.get_mut(&trunk) {
                    reg.branch = None;
                }
                if self.target_failed(&trunk, peer) {
                    self.send_register(&trunk, None);
                } else {
                    self.registration_failed(&trunk, "503 from every target");
                }
                return true;
            }
            self.target_ok(&trunk, peer);
        }
        let Some(reg) = self.registrations.get_mut(&trunk) else {
            return true;
        };
        reg.branch = None;
        match status {
            200..=299 => {
                let asked = self
                    .cfg
                    .config
                    .trunks
                    .iter()
                    .find(|t| t.name == trunk)
                    .map(|t| t.register_expires)
                    .unwrap_or(3600);
                let granted = granted_expires(response).unwrap_or(asked).max(1);
                let was = reg.registered;
                reg.registered = Some(granted);
                reg.failures = 0;
                reg.auth_attempts = 0;
                // Refresh well before expiry: halfway for short grants,
                // 60 s ahead for long ones.
                let refresh =
                    Duration::from_secs(u64::from((granted / 2).max(granted.saturating_sub(60))));
                self.register_timers.set(trunk.clone(), self.now + refresh);
                if was.is_none() {
                    tracing::info!(trunk = %trunk, expires = granted, "registered");
                    self.event(CallEvent::Registration {
                        trunk,
                        registered: true,
                    });
                }
            }
            401 | 407 => {
                let stale = digest::challenges_from(response.headers.get_all(if status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                }))
                .iter()
                .any(|c| c.stale);
                if reg.auth_attempts >= 1 && !stale {
                    self.registration_failed(&trunk, "credentials refused");
                } else {
                    reg.auth_attempts += 1;
                    self.send_register(&trunk, Some((response, status)));
                }
            }
            _ => {
                self.registration_failed(&trunk, &format!("{} {}", status, response.reason));
            }
        }
        true
    }

    /// Timer F on one of our REGISTERs; false if the branch was not one.
    pub(crate) fn register_timed_out(&mut self, branch: &str) -> bool {
        let Some(trunk) = self.register_branches.remove(branch) else {
            return false;
        };
        let peer = self.registrations.get_mut(&trunk).and_then(|r| {
            r.branch = None;
            r.peer
        });
        if let Some(peer) = peer
            && self.target_failed(&trunk, peer)
        {
            self.send_register(&trunk, None);
        } else {
            self.registration_failed(&trunk, "no response (timeout)");
        }
        true
    }

    /// The transport to a peer failed: registrations through it start over.
    pub(crate) fn register_unreachable(&mut self, peer: Peer) {
        let trunks: Vec<String> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.peer == Some(peer))
            .map(|(name, _)| name.clone())
            .collect();
        for trunk in trunks {
            if let Some(branch) = self
                .registrations
                .get_mut(&trunk)
                .and_then(|r| r.branch.take())
            {
                self.register_branches.remove(&branch);
                self.tx.forget_client(&branch);
            }
            if self.target_failed(&trunk, peer) {
                self.send_register(&trunk, None);
            } else {
                self.registration_failed(&trunk, "transport failure");
            }
        }
    }

    fn registration_failed(&mut self, trunk: &str, why: &str) {
        let Some(reg) = self.registrations.get_mut(trunk) else {
            return;
        };
        reg.failures += 1;
        reg.auth_attempts = 0;
        let backoff = MIN_BACKOFF
            .saturating_mul(1 << reg.failures.saturating_sub(1).min(10))
            .min(MAX_BACKOFF);
        let was = reg.registered.take();
        tracing::warn!(trunk, why, retry_in = ?backoff, "registration failed");
        self.register_timers
            .set(trunk.to_string(), self.now + backoff);
        if was.is_some() || reg_first_failure(reg) {
            self.event(CallEvent::Registration {
                trunk: trunk.to_string(),
                registered: false,
            });
        }
    }

    /// Registration state per trunk, for status reporting.
    pub fn registrations(&self) -> impl Iterator<Item = (&String, &Registration)> {
        self.registrations.iter()
    }
}

fn reg_first_failure(reg: &Registration) -> bool {
    reg.failures == 1
}

/// The lifetime the registrar granted: our Contact's `expires` parameter, else
/// the Expires header (RFC 3261 §10.2.4).
fn granted_expires(response: &Response) -> Option<u32> {
    for contact in response.headers.values("Contact") {
        if let Some(v) = contact
            .split(';')
            .skip(1)
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("expires"))
            .and_then(|(_, v)| v.trim().parse().ok())
        {
            return Some(v);
        }
    }
    response.headers.get("Expires")?.trim().parse().ok()
}
