//! RFC 4028 session timers: a call whose far end vanished without a BYE (a
//! crashed PBX, a NAT that forgot us) must not stay up — and billed — for
//! ever. We ask for `sip.session_expires_secs` in our INVITEs, honour what
//! peers ask for, and then either refresh at half the interval (re-INVITE,
//! or a body-less UPDATE when the peer allows it) or expect the peer's
//! refresh and end the call on both sides when it is overdue.

use super::gateway::{CallTimer, Gateway};
use super::in_dialog::Purpose;
use super::model::SessionTimer;
use crate::sip::header::{MIN_SE_SECS, Refresher, SessionExpires};
use crate::sip::message::{Headers, Method, Request, Response};
use std::time::Duration;

/// Our `Supported` option tags: reliable provisionals and session timers.
pub(crate) const SUPPORTED: &str = "100rel, timer";

/// What to answer an INVITE or refresh that asks for a session timer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UasTimer {
    /// No timer for this session.
    None,
    /// Use it; the 2xx carries `Session-Expires` (and `Require: timer`).
    Use(SessionTimer),
    /// 422 with this `Min-SE`: the interval asked for is too short.
    TooSmall(u32),
}

/// The session timer of a dialog we answer (RFC 4028 §9), from the request
/// and our configured interval (0 = we ask for none).
pub(crate) fn negotiate_uas(request: &Request, ours: u32) -> UasTimer {
    let h = &request.headers;
    let supports = h.has_token("Supported", "timer") || h.has_token("Require", "timer");
    let update_ok = h.has_token("Allow", "UPDATE");
    let min_se = h
        .get("Min-SE")
        .and_then(|v| v.split(';').next()?.trim().parse::<u32>().ok())
        .unwrap_or(MIN_SE_SECS)
        .max(MIN_SE_SECS);
    let asked = h
        .get("Session-Expires")
        .and_then(|v| SessionExpires::parse(v).ok());
    let (interval, refresher) = match asked {
        // RFC 4028 §9: 422 only to a UAC that can act on it; one without
        // timer support (a proxy inserted the header) gets our minimum.
        Some(se) if se.secs < MIN_SE_SECS && supports => return UasTimer::TooSmall(MIN_SE_SECS),
        Some(se) => {
            let se = SessionExpires {
                secs: se.secs.max(MIN_SE_SECS),
                ..se
            };
            // We may shorten the interval, never below the peer's Min-SE.
            let interval = if ours == 0 {
                se.secs
            } else {
                se.secs.min(ours.max(min_se))
            };
            let refresher = se.refresher.unwrap_or(if supports {
                Refresher::Uac
            } else {
                Refresher::Uas
            });
            (interval, refresher)
        }
        None if ours == 0 => return UasTimer::None,
        None => (
            ours.max(min_se),
            if supports {
                Refresher::Uac
            } else {
                Refresher::Uas
            },
        ),
    };
    UasTimer::Use(SessionTimer {
        interval,
        we_refresh: refresher == Refresher::Uas,
        update_ok,
        peer_supports: supports,
    })
}

/// The session timer a 2xx to our INVITE or refresh sets up (RFC 4028 §7.2):
/// none when the answer carries no `Session-Expires`.
pub(crate) fn negotiate_uac(response: &Response) -> Option<SessionTimer> {
    let h = &response.headers;
    let se = SessionExpires::parse(h.get("Session-Expires")?).ok()?;
    Some(SessionTimer {
        interval: se.secs.max(MIN_SE_SECS),
        we_refresh: se.refresher.unwrap_or(Refresher::Uac) == Refresher::Uac,
        update_ok: h.has_token("Allow", "UPDATE"),
        peer_supports: h.has_token("Require", "timer") || h.has_token("Supported", "timer"),
    })
}

/// The headers of a 2xx that grants `timer`: who refreshes, named from the
/// answered transaction's point of view.
pub(crate) fn grant_headers(headers: &mut Headers, timer: &SessionTimer) {
    let refresher = if timer.we_refresh {
        Refresher::Uas
    } else {
        Refresher::Uac
    };
    let se = SessionExpires {
        secs: timer.interval,
        refresher: Some(refresher),
    };
    headers.push("Session-Expires", se.to_string());
    if timer.peer_supports {
        headers.push("Require", "timer");
    }
}

impl Gateway {
    /// Adds our offer of session timers and 100rel to an initial INVITE.
    pub(crate) fn offer_session_timer(&self, headers: &mut Headers) {
        headers.push("Supported", SUPPORTED);
        let secs = self.cfg.config.sip.session_expires_secs;
        if secs > 0 {
            headers.push("Session-Expires", secs.to_string());
            headers.push("Min-SE", MIN_SE_SECS.to_string());
        }
    }

    /// A 422 to our INVITE: ask again with the interval the peer wants
    /// (RFC 4028 §7.4), once. False when we cannot.
    pub(crate) fn retry_invite_after_422(&mut self, call_id: &str, response: &Response) -> bool {
        let Some(min_se) = response
            .headers
            .get("Min-SE")
            .and_then(|v| v.split(';').next()?.trim().parse::<u32>().ok())
        else {
            return false;
        };
        let Some(mut invite) = self.calls.get(call_id).and_then(|c| c.sip.invite.clone()) else {
            return false;
        };
        let current = invite
            .headers
            .get("Session-Expires")
            .and_then(|v| SessionExpires::parse(v).ok())
            .map(|s| s.secs)
            .unwrap_or(0);
        if min_se <= current || min_se > 86_400 {
            return false;
        }
        invite.headers.set("Session-Expires", min_se.to_string());
        invite.headers.set("Min-SE", min_se.to_string());
        // A new transaction asks anew: the old nonce's answer is not reused.
        invite.headers.remove("Authorization");
        invite.headers.remove("Proxy-Authorization");
        if let Some(call) = self.calls.get_mut(call_id) {
            call.sip.auth_attempts = 0;
        }
        tracing::info!(call = %call_id, min_se, "422: INVITE re-sent with a longer session interval");
        self.resend_invite(call_id, invite);
        true
    }

    /// Starts (or restarts) the call's session timer after the session was
    /// set up or refreshed.
    pub(crate) fn arm_session_timer(&mut self, call_id: &str) {
        let Some(timer) = self.calls.get(call_id).and_then(|c| c.sip.session_timer) else {
            return;
        };
        let interval = Duration::from_secs(u64::from(timer.interval));
        let key = call_id.to_string();
        // Only a 2xx to a refresh extends the session (RFC 4028 §10), so the
        // expiry runs whoever refreshes: a refresher whose refreshes keep
        // failing ends the call too. BYE at interval − min(32 s, interval/3).
        let slack = Duration::from_secs(32).min(interval / 3);
        self.timers.set(
            (key.clone(), CallTimer::SessionExpiry),
            self.now + interval - slack,
        );
        if timer.we_refresh {
            self.timers
                .set((key, CallTimer::SessionRefresh), self.now + interval / 2);
        } else {
            self.timers.cancel(&(key, CallTimer::SessionRefresh));
        }
    }

    /// Our turn to refresh: UPDATE without a body when the peer allows it,
    /// otherwise a re-INVITE with the SDP we sent last (nothing changes).
    pub(crate) fn send_refresh(&mut self, call_id: &str) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(timer) = call.sip.session_timer else {
            return;
        };
        if self.refresh_in_flight(call_id) {
            return;
        }
        let sdp = call.sip.local_sdp.clone();
        let method = if timer.update_ok || sdp.is_none() {
            Method::Update
        } else {
            Method::Invite
        };
        let se = SessionExpires {
            secs: timer.interval,
            refresher: Some(Refresher::Uac),
        };
        tracing::debug!(call = %call_id, %method, interval = timer.interval, "session refresh");
        self.send_in_dialog_with(call_id, method.clone(), Purpose::Refresh, |r| {
            r.headers.push("Supported", SUPPORTED);
            r.headers.push("Session-Expires", se.to_string());
            r.headers.push("Min-SE", MIN_SE_SECS.to_string());
            if method == Method::Invite
                && let Some(sdp) = sdp
            {
                r.headers.push("Content-Type", "application/sdp");
                r.body = sdp.into_bytes();
            }
        });
    }

    /// A 422 to our refresh: ask again with the peer's Min-SE (RFC 4028 §7.4).
    pub(crate) fn refresh_too_short(&mut self, call_id: &str, response: &Response) {
        let min_se = response
            .headers
            .get("Min-SE")
            .and_then(|v| v.split(';').next()?.trim().parse::<u32>().ok());
        let Some(t) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.sip.session_timer.as_mut())
        else {
            return;
        };
        match min_se {
            Some(min) if min > t.interval && min <= 86_400 => {
                t.interval = min;
                self.timers
                    .set((call_id.to_string(), CallTimer::SessionRefresh), self.now);
            }
            _ => self.retry_refresh_later(call_id),
        }
    }

    /// Another refresh attempt in a sixth of the interval (at least 10 s),
    /// while the session has not expired.
    pub(crate) fn retry_refresh_later(&mut self, call_id: &str) {
        let Some(t) = self.calls.get(call_id).and_then(|c| c.sip.session_timer) else {
            return;
        };
        let wait = Duration::from_secs(u64::from(t.interval / 6).max(10));
        self.timers.set(
            (call_id.to_string(), CallTimer::SessionRefresh),
            self.now + wait,
        );
    }

    /// A 2xx to our refresh: keep the timer the answer describes (or ours,
    /// when the peer says nothing about it), and start it again.
    pub(crate) fn refresh_succeeded(&mut self, call_id: &str, response: &Response) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let mut moved = false;
        // The 2xx to a target refresh names the peer's current Contact.
        if let Some(contact) = response
            .headers
            .values("Contact")
            .first()
            .and_then(|c| crate::sip::header::NameAddr::parse(c).ok())
            && let Some(d) = call.sip.dialog.as_mut()
            && d.remote_target != contact.uri
        {
            d.remote_target = contact.uri;
            moved = true;
        }
        if let Some(mut t) = negotiate_uac(response) {
            let before = call.sip.session_timer;
            if response.headers.get("Allow").is_none() {
                t.update_ok = before.is_some_and(|b| b.update_ok);
            }
            call.sip.session_timer = Some(t);
        }
        if moved {
            self.persist(call_id, super::io::PersistKind::Modified);
        }
        self.arm_session_timer(call_id);
    }

    /// A re-INVITE or UPDATE from the peer refreshed the session: renegotiate
    /// (RFC 4028 §9) and restart the timer. Returns the headers for the 2xx,
    /// or `Err(min_se)` for a 422.
    pub(crate) fn refreshed_by_peer(
        &mut self,
        call_id: &str,
        request: &Request,
    ) -> Result<Headers, u32> {
        let ours = self.cfg.config.sip.session_expires_secs;
        let mut extra = Headers::default();
        let had = self.calls.get(call_id).and_then(|c| c.sip.session_timer);
        let negotiated = match negotiate_uas(request, ours) {
            UasTimer::TooSmall(min) => return Err(min),
            UasTimer::Use(t) => Some(t),
            // The peer dropped Session-Expires: keep what we had.
            UasTimer::None => had,
        };
        if let Some(t) = negotiated {
            grant_headers(&mut extra, &t);
            if let Some(call) = self.calls.get_mut(call_id) {
                call.sip.session_timer = Some(t);
            }
            self.arm_session_timer(call_id);
        }
        Ok(extra)
    }

    /// The peer's refresh is overdue: end the call on both sides.
    pub(crate) fn session_expired(&mut self, call_id: &str) {
        if !self.calls.contains_key(call_id) {
            return;
        }
        tracing::warn!(call = %call_id, "session timer expired without a refresh (RFC 4028): ending the call");
        self.terminate_xmpp(
            call_id,
            "timeout",
            Some("SIP session expired without refresh"),
        );
        self.hangup_sip(call_id);
        self.end_call(call_id, super::model::Side::Gateway, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Request;

    fn invite(extra: &[(&str, &str)]) -> Request {
        let mut headers = Headers::default();
        for (n, v) in extra {
            headers.push(n, *v);
        }
        Request {
            method: Method::Invite,
            uri: "sip:x@y".into(),
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn uas_honours_refresher_and_min_se() {
        let r = invite(&[
            ("Supported", "timer, 100rel"),
            ("Session-Expires", "1200;refresher=uac"),
            ("Allow", "INVITE, UPDATE"),
        ]);
        let UasTimer::Use(t) = negotiate_uas(&r, 1800) else {
            panic!()
        };
        assert_eq!((t.interval, t.we_refresh, t.update_ok), (1200, false, true));
        // We shorten a long interval to ours, but never below the peer's Min-SE.
        let r = invite(&[("Session-Expires", "7200"), ("Min-SE", "3600")]);
        let UasTimer::Use(t) = negotiate_uas(&r, 1800) else {
            panic!()
        };
        assert_eq!((t.interval, t.we_refresh), (3600, true));
        assert_eq!(
            negotiate_uas(
                &invite(&[("Session-Expires", "30"), ("Supported", "timer")]),
                1800
            ),
            UasTimer::TooSmall(90)
        );
        // A UAC without timer support cannot act on 422: it gets our minimum.
        let UasTimer::Use(t) = negotiate_uas(&invite(&[("Session-Expires", "30")]), 1800) else {
            panic!()
        };
        assert_eq!((t.interval, t.we_refresh), (90, true));
        assert_eq!(negotiate_uas(&invite(&[]), 0), UasTimer::None);
        // No Session-Expires, timer supported: the peer refreshes at our interval.
        let UasTimer::Use(t) = negotiate_uas(&invite(&[("Supported", "timer")]), 600) else {
            panic!()
        };
        assert_eq!((t.interval, t.we_refresh), (600, false));
    }

    #[test]
    fn grant_names_the_refresher_from_the_answered_side() {
        let mut h = Headers::default();
        let t = SessionTimer {
            interval: 900,
            we_refresh: true,
            update_ok: false,
            peer_supports: true,
        };
        grant_headers(&mut h, &t);
        assert_eq!(h.get("Session-Expires"), Some("900;refresher=uas"));
        assert_eq!(h.get("Require"), Some("timer"));
    }
}
