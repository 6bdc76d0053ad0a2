//! Answering a trunk's digest challenge (401 / 407) to our INVITE: the same
//! INVITE again, CSeq + 1, a new branch, and an Authorization or
//! Proxy-Authorization header computed from the trunk's credentials
//! (RFC 3261 §22.2, RFC 7616 / RFC 8760 algorithms via `sip::digest`).
//!
//! One retry per nonce: a second challenge for the same request means the
//! credentials are wrong, unless the server says the nonce was merely stale.

use super::gateway::Gateway;
use crate::sip::digest::{self, Credentials};
use crate::sip::message::Response;

impl Gateway {
    /// Retries the call's INVITE with credentials; false when we cannot or
    /// should not (no credentials, realm mismatch, already refused once).
    pub(crate) fn retry_invite_with_auth(&mut self, call_id: &str, response: &Response) -> bool {
        let (challenge_header, answer_header) = match response.status {
            401 => ("WWW-Authenticate", "Authorization"),
            407 => ("Proxy-Authenticate", "Proxy-Authorization"),
            _ => return false,
        };
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        let Some(auth) = call
            .trunk
            .as_ref()
            .and_then(|t| self.cfg.config.trunks.iter().find(|c| &c.name == t))
            .and_then(|t| t.auth.clone())
        else {
            tracing::info!(call = %call_id, status = response.status, "challenged, but the trunk has no credentials");
            return false;
        };
        let challenges = digest::challenges_from(response.headers.get_all(challenge_header));
        let usable: Vec<digest::Challenge> = challenges
            .into_iter()
            .filter(|c| auth.realm.as_ref().is_none_or(|r| *r == c.realm))
            .collect();
        let Some(challenge) = digest::pick_strongest(&usable).cloned() else {
            tracing::warn!(call = %call_id, status = response.status, "no usable digest challenge (algorithm or realm)");
            return false;
        };
        let Some(mut invite) = call.sip.invite.clone() else {
            return false;
        };
        if call.sip.auth_attempts >= 1 && !challenge.stale {
            tracing::warn!(call = %call_id, realm = %challenge.realm, "credentials refused by the trunk");
            return false;
        }
        let peer = call.sip.peer;
        let creds = Credentials {
            username: auth.username.clone(),
            password: auth.password.clone(),
        };
        let cnonce = self.fresh(8);
        let nc = self.nonces.next(&challenge.realm, &challenge.nonce);
        let authorization = match digest::authorize(
            &challenge,
            &creds,
            "INVITE",
            &invite.uri,
            &invite.body,
            &cnonce,
            nc,
        ) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot answer the digest challenge");
                return false;
            }
        };
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1) + 1;
        let branch = self.branch();
        invite
            .headers
            .set("Via", self.our_via(peer.transport, &branch));
        invite.headers.set("CSeq", format!("{seq} INVITE"));
        invite.headers.remove(answer_header);
        invite.headers.push(answer_header, authorization.value);
        let call = self.calls.get_mut(call_id).expect("checked above");
        if let Some(old) = call.sip.invite_branch.replace(branch.clone()) {
            self.by_branch.remove(&old);
        }
        call.sip.auth_attempts += 1;
        call.sip.provisional = false;
        call.sip.invite = Some(invite.clone());
        self.by_branch.insert(branch, call_id.to_string());
        tracing::info!(call = %call_id, realm = %challenge.realm, algorithm = %authorization.algorithm, "INVITE re-sent with credentials");
        self.tx.send_request(invite, peer, self.now);
        true
    }
}
