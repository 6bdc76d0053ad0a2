//! Answering a trunk's digest challenge (401 / 407) to a request of ours: the
//! same request again, CSeq + 1, a new branch, and an Authorization or
//! Proxy-Authorization header computed from the trunk's credentials
//! (RFC 3261 §22.2, RFC 7616 / RFC 8760 algorithms via `sip::digest`). The
//! INVITE is retried here; BYE and session refreshes in `in_dialog`.
//!
//! One retry per nonce: a second challenge for the same request means the
//! credentials are wrong, unless the server says the nonce was merely stale.

use super::gateway::Gateway;
use crate::sip::digest::{self, Credentials};
use crate::sip::message::{Request, Response};

impl Gateway {
    /// Retries the call's INVITE with credentials; false when we cannot or
    /// should not (no credentials, realm mismatch, already refused once).
    pub(crate) fn retry_invite_with_auth(&mut self, call_id: &str, response: &Response) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        let (Some(mut invite), trunk, attempts) = (
            call.sip.invite.clone(),
            call.trunk.clone(),
            call.sip.auth_attempts,
        ) else {
            return false;
        };
        if !self.authorize_request(call_id, trunk.as_deref(), response, &mut invite, attempts) {
            return false;
        }
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.sip.auth_attempts += 1;
        tracing::info!(call = %call_id, "INVITE re-sent with credentials");
        self.resend_invite(call_id, invite);
        true
    }

    /// Adds the answer to `response`'s challenge to `request` (replacing an
    /// earlier one); false when there is nothing we may answer with.
    pub(crate) fn authorize_request(
        &mut self,
        call_id: &str,
        trunk: Option<&str>,
        response: &Response,
        request: &mut Request,
        attempts: u8,
    ) -> bool {
        let (challenge_header, answer_header) = match response.status {
            401 => ("WWW-Authenticate", "Authorization"),
            407 => ("Proxy-Authenticate", "Proxy-Authorization"),
            _ => return false,
        };
        let Some(auth) = trunk
            .and_then(|t| self.cfg.config.trunks.iter().find(|c| c.name == t))
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
        if attempts >= 1 && !challenge.stale {
            tracing::warn!(call = %call_id, realm = %challenge.realm, method = %request.method, "credentials refused by the trunk");
            return false;
        }
        let creds = Credentials {
            username: auth.username.clone(),
            password: auth.password.clone(),
        };
        let cnonce = self.fresh(8);
        let nc = self.nonces.next(&challenge.realm, &challenge.nonce);
        match digest::authorize(
            &challenge,
            &creds,
            request.method.as_str(),
            &request.uri,
            &request.body,
            &cnonce,
            nc,
        ) {
            Ok(a) => {
                tracing::debug!(call = %call_id, realm = %challenge.realm, algorithm = %a.algorithm, method = %request.method, "answering digest challenge");
                request.headers.remove(answer_header);
                request.headers.push(answer_header, a.value);
                true
            }
            Err(e) => {
                tracing::warn!(call = %call_id, error = %e, "cannot answer the digest challenge");
                false
            }
        }
    }

    /// Sends the call's INVITE again as a new transaction: CSeq + 1, a new
    /// branch (after a challenge, a 422 or a redirect).
    pub(crate) fn resend_invite(&mut self, call_id: &str, mut invite: Request) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let peer = call.sip.peer;
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1) + 1;
        let branch = self.branch();
        invite
            .headers
            .set("Via", self.our_via(peer.transport, &branch));
        invite.headers.set("CSeq", format!("{seq} INVITE"));
        let call = self.calls.get_mut(call_id).expect("checked above");
        if let Some(old) = call.sip.invite_branch.replace(branch.clone()) {
            self.by_branch.remove(&old);
        }
        call.sip.provisional = false;
        call.sip.last_rseq = None;
        call.sip.invite = Some(invite.clone());
        self.by_branch.insert(branch, call_id.to_string());
        self.tx.send_request(invite, peer, self.now);
        self.persist(call_id, super::io::PersistKind::Modified);
    }
}
