//! RFC 3263 §4.3 fail-over across a trunk's located targets.
//!
//! A trunk has an ordered list of targets (`CoreConfig::trunk_peers`,
//! replaced by [`Input::TrunkTargets`](super::Input::TrunkTargets)). Pings,
//! REGISTERs and new calls start at the trunk's *live* target; a transport
//! failure, a timeout or a 503 moves the live target on to the next. When
//! every target failed in a row, the list starts over at the first and the
//! adapter is asked to locate the trunk again ([`Output::ResolveTrunk`]).
//!
//! An INVITE that fails that way before any provisional response is sent
//! again to the call's next target: the same request (Call-ID, From tag, body)
//! with CSeq + 1 and a new branch, so a new client transaction.

use super::gateway::Gateway;
use super::io::Output;
use super::model::{CallDirection, CallState};
use crate::sip::peer::Peer;

/// A trunk's live target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Live {
    /// Index into the trunk's targets.
    pub index: usize,
    /// Targets that failed in a row since the last success.
    pub failed_in_row: usize,
}

impl Gateway {
    /// The trunk's targets, starting at the live one.
    pub(crate) fn trunk_targets(&self, trunk: &str) -> Vec<Peer> {
        let Some(list) = self.cfg.trunk_peers.get(trunk).filter(|l| !l.is_empty()) else {
            return Vec::new();
        };
        let start = self.trunk_live.get(trunk).map_or(0, |l| l.index) % list.len();
        list[start..]
            .iter()
            .chain(&list[..start])
            .copied()
            .collect()
    }

    /// Where the trunk's pings and REGISTERs go now.
    pub(crate) fn live_target(&self, trunk: &str) -> Option<Peer> {
        self.trunk_targets(trunk).first().copied()
    }

    /// `peer` answered a request for `trunk`.
    pub(crate) fn target_ok(&mut self, trunk: &str, peer: Peer) {
        if self.live_target(trunk) == Some(peer)
            && let Some(live) = self.trunk_live.get_mut(trunk)
        {
            live.failed_in_row = 0;
        }
    }

    /// `peer`, a target of `trunk`, failed (transport, timeout or 503). True
    /// when another target remains to be tried ([`Self::live_target`]);
    /// false when every target failed in a row: the list starts over and the
    /// trunk is located again.
    pub(crate) fn target_failed(&mut self, trunk: &str, peer: Peer) -> bool {
        let Some(list) = self.cfg.trunk_peers.get(trunk) else {
            return false;
        };
        let n = list.len();
        if n == 0 {
            return false;
        }
        let live = self.trunk_live.entry(trunk.to_string()).or_default();
        if list[live.index % n] != peer {
            // Someone already moved past this one (or it is not the trunk's).
            return list.contains(&peer) && live.failed_in_row < n;
        }
        live.index = (live.index + 1) % n;
        live.failed_in_row += 1;
        if live.failed_in_row < n {
            tracing::info!(trunk, failed = %peer, next = %list[live.index], "trunk target failed; trying the next");
            return true;
        }
        *live = super::failover::Live::default();
        tracing::warn!(trunk, "every target of the trunk failed; locating it again");
        self.out.push_back(Output::ResolveTrunk {
            trunk: trunk.to_string(),
        });
        false
    }

    /// A new target list for `trunk` (from the adapter's RFC 3263 location).
    pub(crate) fn set_trunk_targets(&mut self, trunk: &str, targets: Vec<Peer>) {
        if !self.cfg.config.trunks.iter().any(|t| t.name == trunk) {
            tracing::warn!(trunk, "targets for an unknown trunk ignored");
            return;
        }
        let live = self.live_target(trunk);
        let had = self
            .cfg
            .trunk_peers
            .get(trunk)
            .is_some_and(|l| !l.is_empty());
        if self.cfg.trunk_peers.get(trunk) == Some(&targets) {
            return;
        }
        let list: Vec<String> = targets.iter().map(ToString::to_string).collect();
        if targets.is_empty() {
            tracing::warn!(
                trunk,
                "trunk resolves to no target; calls through it fail with 503"
            );
        } else {
            tracing::info!(trunk, targets = ?list, "trunk targets updated");
        }
        // Stay on the live target when it is still listed.
        let index = live
            .and_then(|p| targets.iter().position(|t| *t == p))
            .unwrap_or(0);
        self.trunk_live.insert(
            trunk.to_string(),
            Live {
                index,
                failed_in_row: 0,
            },
        );
        let has = !targets.is_empty();
        self.cfg.trunk_peers.insert(trunk.to_string(), targets);
        if has && !had {
            self.trunk_reachable_again(trunk);
        }
    }

    /// The trunk had no target and now has: start what waited for one.
    fn trunk_reachable_again(&mut self, trunk: &str) {
        let wants_register = self
            .cfg
            .config
            .trunks
            .iter()
            .any(|t| t.name == trunk && t.register);
        let idle = self
            .registrations
            .get(trunk)
            .is_none_or(|r| r.branch.is_none() && r.registered.is_none());
        if wants_register && idle && self.register_timers.get(&trunk.to_string()).is_none() {
            self.register_timers.set(trunk.to_string(), self.now);
        }
    }

    /// Sends the call's INVITE to its next target, if it failed before any
    /// provisional response and a target is left. False: the call fails.
    pub(crate) fn invite_next_target(&mut self, call_id: &str) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        if call.direction != CallDirection::XmppToSip
            || call.state != CallState::Inviting
            || call.sip.provisional
            || call.sip.dialog.is_some()
            || call.sip.fallbacks.is_empty()
        {
            return false;
        }
        let Some(mut invite) = call.sip.invite.clone() else {
            return false;
        };
        let failed = call.sip.peer;
        let branch = self.branch();
        let call = self.calls.get_mut(call_id).expect("checked above");
        let next = call.sip.fallbacks.remove(0);
        let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1) + 1;
        invite.headers.set("CSeq", format!("{seq} INVITE"));
        // Credentials answered the failed server's nonce; the next asks anew.
        invite.headers.remove("Authorization");
        invite.headers.remove("Proxy-Authorization");
        let via = self.our_via(next.transport, &branch);
        let contact = format!("<{}>", self.our_contact("stox", next.transport));
        invite.headers.set("Via", via);
        invite.headers.set("Contact", contact);
        let call = self.calls.get_mut(call_id).expect("checked above");
        if let Some(old) = call.sip.invite_branch.replace(branch.clone()) {
            self.by_branch.remove(&old);
        }
        call.sip.peer = next;
        call.sip.auth_attempts = 0;
        call.sip.invite = Some(invite.clone());
        self.by_branch.insert(branch, call_id.to_string());
        tracing::info!(call = %call_id, failed = %failed, next = %next, "INVITE sent to the next target");
        self.tx.send_request(invite, next, self.now);
        self.persist(call_id, super::io::PersistKind::Modified);
        true
    }

    /// The call's current target failed: note it against the trunk, then try
    /// the call's next target. False: no target left, the call fails.
    pub(crate) fn outbound_target_failed(&mut self, call_id: &str) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        let (trunk, peer) = (call.trunk.clone(), call.sip.peer);
        if let Some(trunk) = trunk {
            self.target_failed(&trunk, peer);
        }
        self.invite_next_target(call_id)
    }
}
