//! OPTIONS pings to trunks: a keep-alive for NAT bindings and TCP connections,
//! and the gateway's view of whether each trunk is reachable (a metric and a
//! log line when that changes).
//!
//! Any response counts as "up" (a 404 or 503 still proves the trunk answers).
//! Pings go to the trunk's live target; a Timer F timeout or a transport
//! failure moves on to its next target at once, and the trunk is "down" only
//! when every target failed in a row (RFC 3263 §4.3).

use super::gateway::Gateway;
use super::io::CallEvent;
use crate::sip::message::{Method, Request, Response};

impl Gateway {
    /// Schedules the first ping of every trunk (called once at start).
    pub(crate) fn schedule_pings(&mut self) {
        let Some(every) = self.cfg.trunk_ping else {
            return;
        };
        // Every trunk, located yet or not: a ping finds its live target when due.
        let names: Vec<String> = self
            .cfg
            .config
            .trunks
            .iter()
            .map(|t| t.name.clone())
            .collect();
        for name in names {
            self.trunk_timers.set(name, self.now + every);
        }
    }

    /// Fires due pings and schedules the next ones.
    pub(crate) fn ping_due_trunks(&mut self) {
        let Some(every) = self.cfg.trunk_ping else {
            return;
        };
        while let Some(trunk) = self.trunk_timers.pop_due(self.now) {
            self.ping(&trunk);
            self.trunk_timers.set(trunk, self.now + every);
        }
    }

    fn ping(&mut self, trunk: &str) {
        let Some(peer) = self.live_target(trunk) else {
            return;
        };
        let Some((uri, route)) = self
            .cfg
            .config
            .trunks
            .iter()
            .find(|t| t.name == trunk)
            .map(|t| (t.uri.clone(), t.outbound_proxy.as_ref().map(|p| p.route())))
        else {
            return;
        };
        let branch = self.branch();
        let tag = self.fresh(6);
        let call_id = format!(
            "{}@{}",
            self.fresh(10),
            super::outbound::host_of(&self.cfg.sent_by)
        );
        let from = format!("sip:stox@{}", self.cfg.sent_by);
        let mut headers = self.request_headers(
            peer.transport,
            &branch,
            &from,
            &tag,
            &uri,
            &call_id,
            "1 OPTIONS",
        );
        if let Some(route) = route {
            headers.push("Route", route);
        }
        headers.push("Accept", "application/sdp");
        headers.push("User-Agent", self.cfg.user_agent.clone());
        let request = Request {
            method: Method::Options,
            uri,
            headers,
            body: Vec::new(),
        };
        self.pings.insert(branch, (trunk.to_string(), peer));
        self.tx.send_request(request, peer, self.now);
    }

    /// A response to one of our pings; false if the branch was not a ping.
    pub(crate) fn ping_answered(&mut self, branch: &str, response: &Response) -> bool {
        if response.status < 200 {
            return self.pings.contains_key(branch);
        }
        let Some((trunk, peer)) = self.pings.remove(branch) else {
            return false;
        };
        self.target_ok(&trunk, peer);
        self.set_trunk_state(&trunk, true);
        true
    }

    /// Timer F on one of our pings; false if the branch was not a ping.
    pub(crate) fn ping_timed_out(&mut self, branch: &str) -> bool {
        let Some((trunk, peer)) = self.pings.remove(branch) else {
            return false;
        };
        self.ping_failed(&trunk, peer);
        true
    }

    /// The transport to `peer` failed: pings in flight to it failed.
    pub(crate) fn ping_unreachable(&mut self, peer: crate::sip::peer::Peer) {
        let failed: Vec<(String, String)> = self
            .pings
            .iter()
            .filter(|(_, (_, p))| *p == peer)
            .map(|(b, (t, _))| (b.clone(), t.clone()))
            .collect();
        for (branch, trunk) in failed {
            self.pings.remove(&branch);
            self.tx.forget_client(&branch);
            self.ping_failed(&trunk, peer);
        }
    }

    /// Ping the next target at once; down when none is left.
    fn ping_failed(&mut self, trunk: &str, peer: crate::sip::peer::Peer) {
        if self.target_failed(trunk, peer) {
            self.ping(trunk);
        } else {
            self.set_trunk_state(trunk, false);
        }
    }

    fn set_trunk_state(&mut self, trunk: &str, up: bool) {
        let before = self.trunk_up.insert(trunk.to_string(), up);
        if before != Some(up) {
            if up {
                tracing::info!(trunk, "trunk answers OPTIONS: up");
            } else {
                tracing::warn!(trunk, "trunk does not answer OPTIONS: down");
            }
            self.event(CallEvent::TrunkState {
                trunk: trunk.to_string(),
                up,
            });
        }
    }
}
