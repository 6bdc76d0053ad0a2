//! 301/302 to our INVITE (RFC 3261 §8.1.3.4): a carrier that moved a number
//! or a PBX forwarding a call names the new target in Contact. We try the
//! preferred one (highest `q`) as the new Request-URI — still through the
//! call's trunk, so a redirect can never make the gateway reach a host its
//! configuration does not name — and follow at most [`MAX_REDIRECTS`].
//!
//! The new number must be one the caller could have dialled through that
//! trunk (the same routing and policy as a call they place): otherwise a
//! callee could redirect us to a premium-rate number at our expense.

use super::gateway::Gateway;
use crate::sip::header::NameAddr;
use crate::sip::message::Response;

/// How many redirects one call follows before the 3xx is final.
pub(crate) const MAX_REDIRECTS: u8 = 3;

impl Gateway {
    /// Re-sends the INVITE to the redirect target; false when there is none
    /// we may use (no sip: Contact, too many redirects, a loop).
    pub(crate) fn follow_redirect(&mut self, call_id: &str, response: &Response) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        if !matches!(response.status, 301 | 302) {
            return false; // 300 needs a choice, 305/380 are not a new target
        }
        if call.sip.redirects >= MAX_REDIRECTS {
            tracing::info!(call = %call_id, status = response.status, "too many redirects");
            return false;
        }
        let caller = super::gateway::bare(&call.xmpp.user).to_string();
        let trunk = call.trunk.clone();
        let Some(mut invite) = call.sip.invite.clone() else {
            return false;
        };
        let target = response
            .headers
            .values("Contact")
            .iter()
            .filter_map(|c| NameAddr::parse(c).ok())
            .filter(|c| {
                let scheme = c.uri.split(':').next().unwrap_or("");
                scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
            })
            .map(|c| {
                let q = c
                    .param("q")
                    .flatten()
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q, c.uri)
            })
            .filter(|(_, uri)| *uri != invite.uri)
            .filter(|(_, uri)| {
                // The caller may dial this number, and it routes to the same trunk.
                let user = crate::sip::SipUri::parse(uri).ok().and_then(|u| u.user);
                user.is_some_and(|u| {
                    crate::routing::route_outbound(&self.cfg.config, &caller, &u, None)
                        .is_ok_and(|r| r.trunk == trunk)
                })
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, uri)| uri);
        let Some(target) = target else {
            tracing::info!(call = %call_id, status = response.status, "redirect without a Contact the caller may reach through this trunk");
            return false;
        };
        tracing::info!(call = %call_id, status = response.status, %target, "following redirect through the trunk");
        invite.uri = target;
        invite.headers.remove("Authorization");
        invite.headers.remove("Proxy-Authorization");
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.sip.redirects += 1;
        call.sip.auth_attempts = 0;
        self.resend_invite(call_id, invite);
        true
    }
}
