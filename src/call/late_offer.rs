//! Delayed-offer INVITEs from SIP (an INVITE without SDP, RFC 3261 §13.2.1):
//! the gateway makes the offer, in the 200, and the answer comes in the ACK.
//!
//! Jingle needs an offer in session-initiate (mapping §2b), and the SIP
//! caller has none, so the offer has to come from media the gateway owns:
//! the anchor (embedded or rtpengine) is given a SIP-side offer we write
//! ourselves — the trunk's `codecs` (those we can describe without the
//! peer's help), else PCMU, PCMA, G722, opus and telephone-event, at the
//! unspecified address, named `s=`
//! [`GATEWAY_OFFER_SESSION`] so that rtpengine does not take the address
//! for hold — and from then on the call runs as any anchored inbound call: the
//! anchor's offer rings the user, the user's answer goes to the anchor's
//! Answer op, and the SIP-facing description it returns goes out in the 200,
//! where it is our **offer**. The ACK carries the peer's answer: it moves
//! the anchor's SIP leg there (`Output::MediaUpdate` with `offer: false`;
//! rtpengine gets it as an ng `answer` after restating the XMPP side's
//! description as the `offer`, see `runtime::media`) and is stored; an ACK
//! without a usable answer ends the call (BYE with a `Reason`,
//! session-terminate).
//!
//! Refused with 488 and a Warning that says what would work:
//! - passthrough: no media of our own to offer;
//! - a trunk with `srtp = "sdes"`: the peer's key would arrive only in the
//!   ACK, after the relay's keys were fixed (and rtpengine's SDES answer in
//!   an ACK is untested).

use super::gateway::Gateway;
use super::io::{CallEvent, Output};
use super::model::CallDirection;
use crate::media::anchor::{GATEWAY_OFFER_SESSION, MediaLeg, MediaMode, SipSrtp};
use crate::sip::message::Request;
use crate::sip::transaction::ServerKey;

/// One codec we can offer without the peer's help.
struct Offerable {
    name: &'static str,
    /// The RFC 3551 static payload type, `None` for a dynamic one.
    static_pt: Option<u8>,
    /// `rtpmap` encoding/clock[/channels].
    rtpmap: &'static str,
    fmtp: Option<&'static str>,
}

/// What a delayed-offer call offers, by name, when the trunk lists no
/// `codecs` (or none of these).
const DEFAULT_CODECS: [&str; 4] = ["PCMU", "PCMA", "G722", "opus"];

const OFFERABLE: &[Offerable] = &[
    Offerable {
        name: "PCMU",
        static_pt: Some(0),
        rtpmap: "PCMU/8000",
        fmtp: None,
    },
    Offerable {
        name: "PCMA",
        static_pt: Some(8),
        rtpmap: "PCMA/8000",
        fmtp: None,
    },
    Offerable {
        name: "G722",
        static_pt: Some(9),
        rtpmap: "G722/8000",
        fmtp: None,
    },
    Offerable {
        name: "GSM",
        static_pt: Some(3),
        rtpmap: "GSM/8000",
        fmtp: None,
    },
    Offerable {
        name: "G729",
        static_pt: Some(18),
        rtpmap: "G729/8000",
        fmtp: None,
    },
    Offerable {
        name: "opus",
        static_pt: None,
        rtpmap: "opus/48000/2",
        fmtp: Some("useinbandfec=1"),
    },
    Offerable {
        name: "iLBC",
        static_pt: None,
        rtpmap: "iLBC/8000",
        fmtp: Some("mode=30"),
    },
    Offerable {
        name: "AMR-WB",
        static_pt: None,
        rtpmap: "AMR-WB/16000",
        fmtp: Some("octet-align=1"),
    },
    Offerable {
        name: "AMR",
        static_pt: None,
        rtpmap: "AMR/8000",
        fmtp: Some("octet-align=1"),
    },
];

/// The SIP-side offer the anchor is given for a delayed-offer INVITE: the
/// listed codecs we can describe (in that order, unknown ones skipped), else
/// [`DEFAULT_CODECS`], and telephone-event, at 0.0.0.0 (RFC 3264 §8.4: no
/// address yet), so the anchor sends nothing before the ACK's answer names
/// one.
pub(crate) fn gateway_offer(codecs: &[String], session_id: u64) -> String {
    let mut chosen: Vec<&Offerable> = codecs
        .iter()
        .filter_map(|c| OFFERABLE.iter().find(|o| o.name.eq_ignore_ascii_case(c)))
        .collect();
    if chosen.is_empty() {
        chosen = DEFAULT_CODECS
            .iter()
            .filter_map(|c| OFFERABLE.iter().find(|o| o.name == *c))
            .collect();
    }
    let mut next_dynamic = 96u8;
    let mut formats = Vec::new();
    let mut lines = Vec::new();
    for codec in chosen {
        let pt = codec.static_pt.unwrap_or_else(|| {
            next_dynamic += 1;
            next_dynamic - 1
        });
        formats.push(pt.to_string());
        lines.push(format!("a=rtpmap:{pt} {}", codec.rtpmap));
        if let Some(fmtp) = codec.fmtp {
            lines.push(format!("a=fmtp:{pt} {fmtp}"));
        }
    }
    let dtmf = next_dynamic.max(101);
    formats.push(dtmf.to_string());
    lines.push(format!("a=rtpmap:{dtmf} telephone-event/8000"));
    lines.push(format!("a=fmtp:{dtmf} 0-16"));
    let mut sdp = format!(
        "v=0\r\no=- {session_id} 1 IN IP4 0.0.0.0\r\ns={GATEWAY_OFFER_SESSION}\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP {}\r\n",
        formats.join(" ")
    );
    for line in lines {
        sdp.push_str(&line);
        sdp.push_str("\r\n");
    }
    sdp.push_str("a=sendrecv\r\n");
    sdp
}

impl Gateway {
    /// A delayed-offer INVITE: the SIP-side offer to give the anchor, or
    /// `None` when it was refused here (488 with a Warning).
    pub(crate) fn late_offer(
        &mut self,
        trunk: Option<&str>,
        request: &Request,
        key: &ServerKey,
        local_tag: &str,
    ) -> Option<String> {
        let trunk_cfg = trunk.and_then(|n| self.cfg.config.trunks.iter().find(|t| t.name == n));
        let mode = self.cfg.config.media.mode_for(trunk_cfg);
        let sdes = trunk_cfg.is_some_and(|t| t.srtp == SipSrtp::Sdes);
        let refusal = match mode {
            MediaMode::Passthrough => Some(
                "a delayed-offer INVITE (no SDP) needs [media] mode = embedded or rtpengine: \
                 passthrough has no media of its own to offer",
            ),
            MediaMode::Embedded | MediaMode::Rtpengine if sdes => Some(
                "a delayed-offer INVITE (no SDP) is not supported with srtp = sdes: \
                 send the offer in the INVITE",
            ),
            MediaMode::Embedded | MediaMode::Rtpengine => None,
        };
        if let Some(why) = refusal {
            tracing::info!(sip_call_id = %request.headers.get("Call-ID").unwrap_or_default(), mode = mode.label(), why, "delayed-offer INVITE refused");
            self.event(CallEvent::Failed {
                direction: CallDirection::SipToXmpp,
                status: 488,
            });
            let mut r = self.response(request, 488, Some(local_tag));
            r.headers.push(
                "Warning",
                format!("399 stox \"{}\"", super::inbound::warning_text(why)),
            );
            self.respond(key, r);
            return None;
        }
        let codecs = trunk_cfg.map(|t| t.codecs.clone()).unwrap_or_default();
        let session_id: u64 = rand::Rng::random_range(&mut self.rng, 1..u64::from(u32::MAX));
        tracing::info!(trunk = ?trunk, "delayed-offer INVITE: the anchor makes the offer");
        Some(gateway_offer(&codecs, session_id))
    }

    /// The ACK to our 200 of an inbound call. A delayed offer's ACK carries
    /// the answer: applied to the anchor and stored. Returns whether the
    /// call goes on (and is answered); false when it ended here.
    pub(crate) fn late_offer_ack(&mut self, call_id: &str, ack: &Request) -> bool {
        let Some(call) = self.calls.get(call_id) else {
            return false;
        };
        let delayed = call.direction == CallDirection::SipToXmpp
            && call.sip.invite.as_ref().is_some_and(|i| i.body.is_empty());
        if !delayed {
            return true;
        }
        let body = String::from_utf8_lossy(&ack.body).into_owned();
        let usable = !body.trim().is_empty()
            && crate::translate::sdp_to_jingle(&body, crate::translate::Role::Responder).is_ok();
        if !usable {
            let why = if body.trim().is_empty() {
                "no SDP answer in the ACK to our delayed-offer 200"
            } else {
                "unusable SDP answer in the ACK to our delayed-offer 200"
            };
            self.no_answer(call_id, why);
            return false;
        }
        tracing::info!(call = %call_id, "delayed offer: the ACK's answer goes to the anchor");
        let call = self.calls.get_mut(call_id).expect("checked above");
        call.sip.ack_answer = Some(body.clone());
        if let Some(mode) = call.media.as_ref().map(|m| m.mode) {
            self.out.push_back(Output::MediaUpdate {
                call: call_id.to_string(),
                leg: MediaLeg::Sip,
                sdp: body,
                offer: false,
                mode,
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::gateway_offer;

    #[test]
    fn default_offer_has_the_four_codecs_and_dtmf_at_no_address() {
        let sdp = gateway_offer(&[], 7);
        assert!(sdp.contains("c=IN IP4 0.0.0.0\r\n"), "{sdp}");
        assert!(sdp.contains("m=audio 9 RTP/AVP 0 8 9 96 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:96 opus/48000/2\r\n"), "{sdp}");
        assert!(
            sdp.contains("a=rtpmap:101 telephone-event/8000\r\n"),
            "{sdp}"
        );
        assert!(sdp.ends_with("a=sendrecv\r\n"));
    }

    #[test]
    fn trunk_codecs_order_the_offer_and_unknown_ones_are_skipped() {
        let codecs = ["PCMA", "H264", "AMR-WB", "pcmu"].map(String::from);
        let sdp = gateway_offer(&codecs, 7);
        assert!(sdp.contains("m=audio 9 RTP/AVP 8 96 0 101\r\n"), "{sdp}");
        assert!(sdp.contains("a=fmtp:96 octet-align=1\r\n"), "{sdp}");
        assert!(!sdp.contains("H264"));
        let only_video = gateway_offer(&["VP8".to_string()], 7);
        assert!(only_video.contains("RTP/AVP 0 8 9 96 101"), "{only_video}");
    }

    /// The embedded anchor takes our offer: the XMPP side is offered ICE and
    /// DTLS with our codecs; the client's answer gives the SIP-facing offer
    /// for the 200 (the client's codecs, our port, no crypto), and the relay
    /// sends nothing toward SIP until the ACK's answer names an address.
    #[cfg(feature = "gateway")]
    #[test]
    fn the_embedded_anchor_offers_from_it_and_waits_for_the_acks_address() {
        use crate::media::anchor::{MediaLeg, SipSrtp};
        use crate::media::engine::negotiate::{self, Ports};
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let ip: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let ports = Ports {
            xmpp: vec![20000],
            sip: vec![20002],
        };
        let (pending, to_xmpp) = negotiate::offer(
            &mut rng,
            MediaLeg::Sip,
            &gateway_offer(&[], 5),
            SipSrtp::None,
            ports,
            ip,
            "sha-256 00",
        )
        .unwrap();
        assert!(
            to_xmpp.contains("UDP/TLS/RTP/SAVPF 0 8 9 96 101"),
            "{to_xmpp}"
        );
        assert!(to_xmpp.contains("a=ice-ufrag:"), "{to_xmpp}");
        assert!(to_xmpp.contains("a=setup:actpass"), "{to_xmpp}");
        let client = "v=0\r\nc=IN IP4 192.0.2.20\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 96 0\r\na=mid:0\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 BB\r\na=setup:active\r\na=rtcp-mux\r\na=sendrecv\r\n";
        let (to_sip, plan) =
            negotiate::answer("c", &pending, client, ip, "sha-256 00", None).unwrap();
        assert!(to_sip.contains("m=audio 20002 RTP/AVP 96 0"), "{to_sip}");
        assert!(to_sip.contains("c=IN IP4 192.0.2.1"), "{to_sip}");
        assert!(!to_sip.contains("a=crypto") && !to_sip.contains("ice-ufrag"));
        assert_eq!(plan.streams[0].sip_rtp, None, "no address before the ACK");
    }
}
