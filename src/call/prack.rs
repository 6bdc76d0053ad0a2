//! Reliable provisional responses (RFC 3262, `100rel`), both ways.
//!
//! Outbound, a 18x carrying `Require: 100rel` and `RSeq` gets a PRACK in the
//! early dialog (`RAck: rseq cseq INVITE`); a repeated RSeq is a
//! retransmission and is dropped. Carriers that send 183 reliably wait for
//! that PRACK before they go on, so without it calls stall in early media.
//!
//! Inbound, when the caller's INVITE says `Require: 100rel`, our 180 goes out
//! with `RSeq` and is retransmitted from T1, doubling, until the PRACK
//! arrives; after 64·T1 without one the INVITE is refused with 500.

use super::gateway::{CallTimer, Gateway};
use super::in_dialog::Purpose;
use crate::sip::dialog::{Dialog, Origin};
use crate::sip::message::{Method, Request, Response};
use crate::sip::transaction::ServerKey;

impl Gateway {
    /// PRACKs `response` when it is a reliable provisional. Returns false when
    /// it is one we PRACKed already (a retransmission, to be ignored).
    pub(crate) fn prack_if_reliable(&mut self, call_id: &str, response: &Response) -> bool {
        if response.status == 100 || !response.headers.has_token("Require", "100rel") {
            return true;
        }
        let Some(rseq) = response
            .headers
            .get("RSeq")
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            // RFC 3262 §4: without RSeq it is not a valid reliable response.
            tracing::info!(call = %call_id, status = response.status, "Require: 100rel without RSeq: treated as unreliable");
            return true;
        };
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        if call.sip.last_rseq.is_some_and(|last| rseq <= last) {
            return false;
        }
        let Some(invite) = call.sip.invite.clone() else {
            return false;
        };
        let peer = call.sip.peer;
        let trunk = call.trunk.clone();
        let Some(mut early) = Dialog::from_uac(&invite, response, peer) else {
            return true;
        };
        let invite_cseq = early.local_cseq;
        early.local_cseq = early.local_cseq.max(call.sip.early_cseq);
        let branch = self.branch();
        let sent_by = self.sent_by(peer.transport).to_string();
        let ua = self.cfg.user_agent.clone();
        let origin = Origin {
            sent_by: &sent_by,
            branch: &branch,
            user_agent: &ua,
        };
        let mut prack = early.request(Method::Prack, &origin);
        prack
            .headers
            .push("RAck", format!("{rseq} {invite_cseq} INVITE"));
        let hop = early.next_hop();
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.sip.last_rseq = Some(rseq);
        call.sip.early_cseq = early.local_cseq;
        tracing::debug!(call = %call_id, rseq, status = response.status, "PRACK sent");
        self.track_and_send(branch, call_id, trunk, prack, hop, Purpose::Prack, 0);
        true
    }

    /// Sends a provisional response to the call's INVITE: reliably (with
    /// RSeq, retransmitted until PRACKed) when the caller requires 100rel.
    pub(crate) fn send_provisional(
        &mut self,
        call_id: &str,
        key: &ServerKey,
        mut response: Response,
        invite: &Request,
    ) {
        if invite.headers.has_token("Require", "100rel") {
            let rseq = rand::Rng::random_range(&mut self.rng, 1..=0x7fff_ffffu32);
            response.headers.push("Require", "100rel");
            response.headers.push("RSeq", rseq.to_string());
            if let Some(call) = self.calls.get_mut(call_id) {
                call.sip.reliable = Some(super::model::ReliableProvisional {
                    rseq,
                    response: response.clone(),
                    acked: false,
                    retransmits: 0,
                });
            }
            let at = self.now + self.cfg.timers.t1;
            self.timers
                .set((call_id.to_string(), CallTimer::ReliableRetransmit), at);
        }
        self.respond(key, response);
    }

    /// RFC 3262 §3: the reliable provisional again, until PRACK or 64·T1.
    pub(crate) fn retransmit_reliable(&mut self, call_id: &str) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(rel) = call.sip.reliable.as_mut().filter(|r| !r.acked) else {
            return;
        };
        let Some(key) = call.sip.server_key.clone() else {
            return;
        };
        rel.retransmits += 1;
        let n = rel.retransmits;
        let response = rel.response.clone();
        if !self.tx.is_pending(&key) {
            return; // already answered finally
        }
        if n > 6 {
            tracing::warn!(call = %call_id, "no PRACK for our reliable provisional: refusing the INVITE");
            self.inbound_refuse(
                call_id,
                super::model::Side::Sip,
                500,
                None,
                Some("no PRACK for reliable provisional"),
            );
            return;
        }
        self.respond(&key, response);
        // Sent at 0, T1, 3·T1 … 63·T1: the next wait doubles but the last
        // one ends at 64·T1, where we give up.
        let t1 = self.cfg.timers.t1;
        let at = self.now + (t1 * 2u32.pow(n)).min(t1 * 64 - t1 * (2u32.pow(n) - 1));
        self.timers
            .set((call_id.to_string(), CallTimer::ReliableRetransmit), at);
    }

    /// A PRACK from the caller: 200 when its RAck names our reliable
    /// provisional, 481 otherwise (RFC 3262 §3).
    pub(crate) fn inbound_prack(
        &mut self,
        request: &Request,
        key: &ServerKey,
        call_id: Option<&str>,
    ) {
        let rack: Option<(u32, u32)> = request.headers.get("RAck").and_then(|v| {
            let mut it = v.split_whitespace();
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        });
        let matched = call_id.and_then(|id| {
            let call = self.calls.get_mut(id)?;
            let invite_cseq = call.sip.invite.as_ref()?.headers.cseq()?.seq;
            let rel = call.sip.reliable.as_mut()?;
            (rack == Some((rel.rseq, invite_cseq))).then(|| {
                rel.acked = true;
                id.to_string()
            })
        });
        match matched {
            Some(id) => {
                self.timers
                    .cancel(&(id.clone(), CallTimer::ReliableRetransmit));
                tracing::debug!(call = %id, "PRACK received");
                self.reply(key, request, 200, None);
            }
            None => self.reply(key, request, 481, None),
        }
    }
}
