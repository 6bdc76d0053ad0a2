//! Digest authentication of inbound calls (RFC 3261 §22, RFC 7616): a trunk
//! with `inbound_auth = true` must prove it knows its password before its
//! INVITE rings anybody. We answer 401 with a challenge; the retry must carry
//! valid credentials for the trunk's username, or it gets 403 (not another
//! challenge, so a wrong password is not an invitation to keep guessing).
//!
//! Nonces carry their own issue time and an HMAC-like hash under a
//! per-process secret, so nothing is stored per challenge: a nonce older than
//! [`NONCE_LIFETIME`] or from a previous process gets `stale=true` and the
//! caller retries silently.

use super::gateway::Gateway;
use crate::config::TrunkConfig;
use crate::sip::digest::{self, Algorithm, DigestError};
use crate::sip::message::Request;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a nonce of ours stays valid.
pub(crate) const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// What to do with an inbound INVITE of an authenticating trunk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InboundAuth {
    /// Credentials are valid: go on.
    Accepted,
    /// Send 401 with these WWW-Authenticate values, preferred first.
    Challenge(Vec<String>),
    /// Wrong credentials: 403.
    Refused,
}

impl Gateway {
    /// Checks `request`'s Authorization against `trunk`'s credentials.
    pub(crate) fn check_inbound_auth(
        &mut self,
        request: &Request,
        trunk: &TrunkConfig,
    ) -> InboundAuth {
        let Some(auth) = &trunk.auth else {
            return InboundAuth::Refused;
        };
        let realm = auth
            .realm
            .clone()
            .unwrap_or_else(|| self.cfg.config.xmpp.domain.clone());
        let offered = &trunk.inbound_auth_algorithms;
        let Some(header) = request.headers.get("Authorization") else {
            return self.inbound_challenge(&realm, offered, false);
        };
        // What `verify` leaves to us: the credentials are for this request
        // (uri), with an algorithm we offered, with qop=auth, and a nonce
        // count above any seen for that nonce (no replay).
        let param = |name: &str| digest::credential_param(header, name);
        let algorithm_ok = param("algorithm")
            .map_or(Some(Algorithm::Md5), |t| Algorithm::from_token(&t))
            .is_some_and(|a| offered.contains(&a));
        let uri_ok = param("uri").is_some_and(|u| digest_uri_matches(&u, &request.uri));
        let nc = param("nc").and_then(|n| u32::from_str_radix(n.trim(), 16).ok());
        let nonce = param("nonce").unwrap_or_default();
        let fresh_nc = nc.is_some_and(|n| self.inbound_nc.get(&nonce).is_none_or(|last| n > *last));
        if !(algorithm_ok && uri_ok && fresh_nc && param("qop").is_some()) {
            tracing::warn!(trunk = %trunk.name, algorithm_ok, uri_ok, fresh_nc, "inbound credentials refused");
            return InboundAuth::Refused;
        }
        let now = self.elapsed_secs();
        let secret = self.nonce_secret;
        let result = digest::verify(
            header,
            request.method.as_str(),
            |user, r| (user == auth.username && r == realm).then(|| auth.password.clone()),
            &realm,
            |nonce| nonce_is_fresh(nonce, &secret, now),
        );
        match result {
            Ok(_) => {
                self.remember_nc(nonce, nc.unwrap_or_default(), now);
                InboundAuth::Accepted
            }
            Err(DigestError::StaleNonce) => self.inbound_challenge(&realm, offered, true),
            Err(e) => {
                tracing::warn!(trunk = %trunk.name, error = %e, "inbound credentials refused");
                InboundAuth::Refused
            }
        }
    }

    /// One challenge per algorithm, preferred first (RFC 7616 §3.7). The
    /// default puts SHA-256 before MD5; peers that only read the first
    /// challenge and know only MD5 (sipp 3.6, old phones) need the trunk's
    /// `inbound_auth_algorithms = ["MD5"]`.
    fn inbound_challenge(
        &mut self,
        realm: &str,
        algorithms: &[Algorithm],
        stale: bool,
    ) -> InboundAuth {
        let nonce = mint_nonce(&self.nonce_secret, self.elapsed_secs());
        let values: Result<Vec<String>, _> = algorithms
            .iter()
            .map(|a| digest::challenge_value(realm, &nonce, *a, None, stale))
            .collect();
        match values {
            Ok(v) => InboundAuth::Challenge(v),
            Err(e) => {
                tracing::warn!(error = %e, realm, "cannot build a digest challenge");
                InboundAuth::Refused
            }
        }
    }

    /// Records the highest nonce count used with one of our nonces, so the
    /// same credentials cannot place a second call; entries go when their
    /// nonce would have expired anyway.
    fn remember_nc(&mut self, nonce: String, nc: u32, now: u64) {
        if self.inbound_nc.len() >= 4096 {
            self.inbound_nc.retain(|n, _| {
                n.split_once('.')
                    .and_then(|(t, _)| u64::from_str_radix(t, 16).ok())
                    .is_some_and(|t| now.saturating_sub(t) <= NONCE_LIFETIME.as_secs())
            });
        }
        self.inbound_nc.insert(nonce, nc);
    }

    fn elapsed_secs(&self) -> u64 {
        self.now.saturating_duration_since(self.started).as_secs()
    }
}

/// Whether the credentials' `uri` names this request (RFC 3261 §22.4: it is
/// the Request-URI). Some UAs (sipp among them) write only our host:port
/// there; that is accepted, but a different user — credentials computed for
/// another number — or another host is not.
fn digest_uri_matches(digest_uri: &str, request_uri: &str) -> bool {
    if digest_uri == request_uri {
        return true;
    }
    let (Ok(d), Ok(r)) = (
        crate::sip::SipUri::parse(digest_uri),
        crate::sip::SipUri::parse(request_uri),
    ) else {
        return false;
    };
    d.host.eq_ignore_ascii_case(&r.host)
        && d.port == r.port
        && d.user.as_ref().is_none_or(|u| Some(u) == r.user.as_ref())
}

/// `<issued seconds, hex>.<hash>`: self-validating, nothing stored.
fn mint_nonce(secret: &[u8; 32], issued: u64) -> String {
    format!("{issued:x}.{}", nonce_hash(secret, issued))
}

fn nonce_hash(secret: &[u8; 32], issued: u64) -> String {
    let mut h = Sha256::new();
    h.update(secret);
    h.update(issued.to_be_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn nonce_is_fresh(nonce: &str, secret: &[u8; 32], now: u64) -> bool {
    let Some((issued, hash)) = nonce.split_once('.') else {
        return false;
    };
    let Ok(issued) = u64::from_str_radix(issued, 16) else {
        return false;
    };
    issued <= now && now - issued <= NONCE_LIFETIME.as_secs() && nonce_hash(secret, issued) == hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_uri_must_name_this_request() {
        let r = "sip:+15550001000@192.0.2.1:5060";
        assert!(digest_uri_matches(r, r));
        assert!(
            digest_uri_matches("sip:192.0.2.1:5060", r),
            "host:port only (sipp)"
        );
        assert!(
            !digest_uri_matches("sip:+15550001001@192.0.2.1:5060", r),
            "another number"
        );
        assert!(!digest_uri_matches("sip:192.0.2.9:5060", r), "another host");
        assert!(!digest_uri_matches("garbage", r));
    }

    #[test]
    fn nonces_are_ours_and_expire() {
        let secret = [7u8; 32];
        let n = mint_nonce(&secret, 100);
        assert!(nonce_is_fresh(&n, &secret, 100));
        assert!(nonce_is_fresh(&n, &secret, 400));
        assert!(!nonce_is_fresh(&n, &secret, 401), "expired");
        assert!(!nonce_is_fresh(&n, &[8u8; 32], 100), "another process");
        assert!(!nonce_is_fresh("64.00", &secret, 100), "forged");
        assert!(!nonce_is_fresh("junk", &secret, 100));
    }
}
