//! Who called whom, as operators read it in `stox calls` and the CDRs.
//!
//! Pure: derived from the call snapshot alone, so a reloaded or adopted call
//! gets the same columns as the original.

use crate::address::{percent_decode, unescape_node};
use crate::call::{Call, CallDirection};
use crate::sip::{NameAddr, SipUri};

/// The caller and the callee of `call`.
///
/// - outbound (XMPP → SIP): the user's bare JID calls what they dialled: the
///   localpart of the gateway JID, XEP-0106-unescaped (`+15551234`,
///   `alice@sip.example`);
/// - inbound (SIP → XMPP): the user part of the INVITE's From URI (the
///   calling number; the whole URI when it has no user part) calls the
///   user's bare JID.
pub fn parties(call: &Call) -> (String, String) {
    let user = bare(&call.xmpp.user).to_owned();
    match call.direction {
        CallDirection::XmppToSip => (user, dialled(&call.xmpp.gateway)),
        CallDirection::SipToXmpp => (sip_caller(call), user),
    }
}

/// The bare part of a JID (without `/resource`).
pub fn bare(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

fn dialled(gateway_jid: &str) -> String {
    let b = bare(gateway_jid);
    match b.split_once('@') {
        Some((local, _)) => unescape_node(local),
        None => String::new(),
    }
}

fn sip_caller(call: &Call) -> String {
    let Some(from) = call
        .sip
        .invite
        .as_ref()
        .and_then(|r| r.headers.get("From"))
        .and_then(|v| NameAddr::parse(v).ok())
    else {
        return String::new();
    };
    match SipUri::parse(&from.uri).ok().and_then(|u| u.user) {
        // Percent-decoded when that gives text; as written otherwise.
        Some(user) => percent_decode(&user).unwrap_or(user),
        None => from.uri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallState, SipLeg, XmppLeg};
    use crate::sip::Request;
    use crate::sip::peer::{Peer, Transport};

    fn call(direction: CallDirection, user: &str, gateway: &str, from: Option<&str>) -> Call {
        let mut sip = SipLeg::new(Peer {
            transport: Transport::Udp,
            addr: "192.0.2.1:5060".parse().unwrap(),
        });
        sip.invite = from.map(|f| {
            let mut r = Request {
                method: crate::sip::Method::Invite,
                uri: "sip:100@gw".into(),
                headers: Default::default(),
                body: Vec::new(),
            };
            r.headers.push("From", f);
            r
        });
        Call {
            id: "c1".into(),
            direction,
            state: CallState::Active,
            xmpp: XmppLeg {
                sid: "s1".into(),
                user: user.into(),
                gateway: gateway.into(),
                jmi: true,
                ringing: Vec::new(),
                initiated: true,
                media: None,
            },
            sip,
            trunk: None,
            created_at: None,
            answered_at: None,
            cancel_pending: false,
            ended: None,
            hangup_by: None,
            jingle_reason: None,
            media: None,
        }
    }

    #[test]
    fn outbound_number() {
        let c = call(
            CallDirection::XmppToSip,
            "romeo@example.net/phone",
            "+15551234@gw.example.net/stox",
            None,
        );
        assert_eq!(
            parties(&c),
            ("romeo@example.net".into(), "+15551234".into())
        );
    }

    #[test]
    fn outbound_sip_address_is_unescaped() {
        let c = call(
            CallDirection::XmppToSip,
            "romeo@example.net",
            "alice\\40sip.example@gw.example.net",
            None,
        );
        assert_eq!(parties(&c).1, "alice@sip.example");
    }

    #[test]
    fn inbound_from_user() {
        let c = call(
            CallDirection::SipToXmpp,
            "juliet@example.net/laptop",
            "+15550001@gw.example.net/stox",
            Some("\"Bob\" <sip:+15550001@trunk.example;user=phone>;tag=a"),
        );
        assert_eq!(
            parties(&c),
            ("+15550001".into(), "juliet@example.net".into())
        );
    }

    #[test]
    fn inbound_percent_encoded_user_and_tel() {
        let c = call(
            CallDirection::SipToXmpp,
            "juliet@example.net",
            "x@gw",
            Some("<sip:bob%20smith@pbx.example>;tag=1"),
        );
        assert_eq!(parties(&c).0, "bob smith");
        let c = call(
            CallDirection::SipToXmpp,
            "juliet@example.net",
            "x@gw",
            Some("tel:+15550002;tag=1"),
        );
        assert_eq!(parties(&c).0, "+15550002");
    }

    #[test]
    fn inbound_without_user_or_invite() {
        let c = call(
            CallDirection::SipToXmpp,
            "juliet@example.net",
            "x@gw",
            Some("<sip:pbx.example>;tag=1"),
        );
        assert_eq!(parties(&c).0, "sip:pbx.example");
        let c = call(CallDirection::SipToXmpp, "juliet@example.net", "x@gw", None);
        assert_eq!(parties(&c).0, "");
    }
}
