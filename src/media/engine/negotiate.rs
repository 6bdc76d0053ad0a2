//! The embedded anchor's offer/answer: from one leg's SDP to the other leg's,
//! and from both to a [`RelayPlan`].
//!
//! Pure: ports are allocated by the caller, credentials and keys come from
//! the RNG passed in. The rules:
//! - toward XMPP the anchor is ICE-lite with one host candidate, DTLS-SRTP
//!   with rtcp-mux and BUNDLE; it offers `setup:actpass` and answers
//!   `active` to `actpass`/`passive`, `passive` to `active` (RFC 8842 §5.3);
//!   a client without a fingerprint gets plain RTP, without ICE no ICE;
//! - toward SIP it speaks RTP/AVP with RTCP on port + 1, or RTP/SAVP with
//!   one `a=crypto` when SDES is configured for the trunk or the SIP offer
//!   requires it (RTP/SAVP);
//! - codecs are the offerer's, narrowed by the answerer; the answer given to
//!   the offerer uses the offerer's payload type numbers, and the relay maps
//!   numbers between the legs by encoding (RFC 3264 §6.1 lets an answerer
//!   number a codec differently).

use super::relay::{RelayPlan, StreamPlan, XmppTransportPlan};
use super::sdp::{self, Codec, Description, LocalTransport, Setup, Stream};
use crate::media::anchor::{AnchorError, MediaLeg, SipSrtp};
use crate::media::srtp::{self, SdesCrypto, SrtpSuite};
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Ports the caller bound for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    /// One per XMPP transport.
    pub xmpp: Vec<u16>,
    /// One RTP port per stream (RTCP is the next one); 0 for a rejected stream.
    pub sip: Vec<u16>,
}

/// How many ports an offer needs: (XMPP transports, SIP streams accepted).
pub fn ports_needed(from: MediaLeg, offer: &Description) -> (usize, Vec<bool>) {
    let accepted: Vec<bool> = offer.streams.iter().map(|s| s.port != 0).collect();
    let live = accepted.iter().filter(|a| **a).count();
    let transports = match from {
        // We offer BUNDLE to the client: one transport.
        MediaLeg::Sip => usize::from(live > 0),
        MediaLeg::Xmpp if !offer.bundle.is_empty() => usize::from(live > 0),
        MediaLeg::Xmpp => live,
    };
    (transports, accepted)
}

/// An offer the anchor passed on, waiting for its answer.
#[derive(Debug, Clone)]
pub struct PendingOffer {
    /// Who offered.
    pub from: MediaLeg,
    /// Their description.
    pub offer: Description,
    /// What we offered the other leg (its streams, in our numbering).
    pub sent: Description,
    /// Our ports.
    pub ports: Ports,
    /// Our ICE-lite credentials per XMPP transport.
    pub ice: Vec<(String, String)>,
    /// SDES toward SIP: ours, and (inbound offers) the SIP peer's chosen one.
    pub sdes: Option<(SdesCrypto, Option<SdesCrypto>)>,
    /// The `o=` session id we use in both directions.
    pub session_id: u64,
}

fn token<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn stream_transport(from: MediaLeg, offer: &Description, index: usize) -> usize {
    if from == MediaLeg::Sip || !offer.bundle.is_empty() {
        return 0;
    }
    // Unbundled client: one transport per live stream, in order.
    offer.streams[..index]
        .iter()
        .filter(|s| s.port != 0)
        .count()
}

/// Handles an offer from `from`: the description for the other leg.
#[allow(clippy::too_many_arguments)]
pub fn offer<R: Rng + ?Sized>(
    rng: &mut R,
    from: MediaLeg,
    sdp_text: &str,
    sip_srtp: SipSrtp,
    ports: Ports,
    public_ip: IpAddr,
    fingerprint: &str,
) -> Result<(PendingOffer, String), AnchorError> {
    let offer = sdp::parse(sdp_text).map_err(AnchorError::Unacceptable)?;
    let session_id = rng.random_range(1..u64::from(u32::MAX));
    let ice: Vec<(String, String)> = ports
        .xmpp
        .iter()
        .map(|_| (token(rng, 8), token(rng, 24)))
        .collect();
    let sdes = match from {
        MediaLeg::Xmpp if sip_srtp == SipSrtp::Sdes => Some((
            srtp::generate_sdes(rng, 1, SrtpSuite::AesCm128HmacSha1_80),
            None,
        )),
        MediaLeg::Xmpp => None,
        MediaLeg::Sip => {
            let first = offer.streams.iter().find(|s| s.port != 0);
            let requires = first.is_some_and(|s| s.proto.contains("SAVP"));
            let theirs = first.and_then(|s| {
                s.crypto
                    .iter()
                    .find_map(|c| srtp::parse_crypto_attr(c).ok())
            });
            match theirs {
                Some(t) if requires || sip_srtp == SipSrtp::Sdes => {
                    let ours = srtp::generate_sdes(rng, t.tag, t.keys.suite);
                    Some((ours, Some(t)))
                }
                None if first.is_some_and(Stream::dtls) => {
                    return Err(AnchorError::Unacceptable(
                        "the SIP peer offers DTLS-SRTP, which the embedded anchor does not speak \
                         toward SIP: use media = \"passthrough\" or \"rtpengine\" for this trunk"
                            .into(),
                    ));
                }
                None if requires => {
                    return Err(AnchorError::Unacceptable(
                        "the SIP offer requires SRTP with no crypto suite we support".into(),
                    ));
                }
                _ => None,
            }
        }
    };
    let to = from.other();
    let mut local = Vec::new();
    for (i, s) in offer.streams.iter().enumerate() {
        if s.port == 0 {
            local.push(rejected());
            continue;
        }
        local.push(match to {
            MediaLeg::Sip => LocalTransport {
                port: ports.sip[i],
                ice: None,
                dtls: None,
                crypto: sdes
                    .as_ref()
                    .map(|(ours, _)| srtp::format_crypto_attr(ours)),
                rtcp_mux: false,
            },
            MediaLeg::Xmpp => {
                let t = stream_transport(from, &offer, i);
                LocalTransport {
                    port: ports.xmpp[t],
                    ice: Some(ice[t].clone()),
                    dtls: Some((fingerprint.to_string(), Setup::Actpass)),
                    crypto: None,
                    rtcp_mux: true,
                }
            }
        });
    }
    let streams: Vec<Stream> = offer.streams.to_vec();
    let text = sdp::write(
        public_ip,
        session_id,
        &streams,
        &local,
        to == MediaLeg::Xmpp,
    );
    let sent = Description {
        streams,
        bundle: Vec::new(),
    };
    Ok((
        PendingOffer {
            from,
            offer,
            sent,
            ports,
            ice,
            sdes,
            session_id,
        },
        text,
    ))
}

fn rejected() -> LocalTransport {
    LocalTransport {
        port: 0,
        ice: None,
        dtls: None,
        crypto: None,
        rtcp_mux: false,
    }
}

/// The answer's stream for offer stream `index`: by mid (Jingle drops
/// rejected contents, so indices may shift), else by position.
fn answer_stream<'a>(
    answer: &'a Description,
    offered: &Stream,
    index: usize,
) -> Option<&'a Stream> {
    let mid = sdp::mid_of(offered, index);
    answer
        .streams
        .iter()
        .enumerate()
        .find(|(j, s)| sdp::mid_of(s, *j) == mid)
        .map(|(_, s)| s)
        .or_else(|| {
            if answer.streams.iter().any(|s| s.mid.is_some()) && offered.mid.is_some() {
                None
            } else {
                answer.streams.get(index)
            }
        })
        .filter(|s| s.port != 0)
}

/// `answer`'s codecs renumbered into `offer`'s payload types; the pairs
/// (answer pt, offer pt) that differ.
fn renumber(answer: &Stream, offer: &Stream) -> (Stream, Vec<(u8, u8)>) {
    let mut map = Vec::new();
    for c in &answer.codecs {
        if let Some(o) = offer.codecs.iter().find(|o| o.same_encoding(c))
            && o.pt != c.pt
        {
            map.push((c.pt, o.pt));
        }
    }
    let pt_of = |pt: u8| map.iter().find(|(a, _)| *a == pt).map_or(pt, |(_, b)| *b);
    let mut out = answer.clone();
    out.formats = answer
        .formats
        .iter()
        .map(|f| f.parse::<u8>().map_or(f.clone(), |p| pt_of(p).to_string()))
        .collect();
    out.codec_lines = answer
        .codec_lines
        .iter()
        .map(|line| {
            let Some((attr, rest)) = line.split_once(':') else {
                return line.clone();
            };
            let Some((pt, tail)) = rest.split_once(' ') else {
                return line.clone();
            };
            match pt.parse::<u8>() {
                Ok(p) => format!("{attr}:{} {tail}", pt_of(p)),
                Err(_) => line.clone(),
            }
        })
        .collect();
    out.codecs = answer
        .codecs
        .iter()
        .map(|c| Codec {
            pt: pt_of(c.pt),
            ..c.clone()
        })
        .collect();
    (out, map)
}

/// Issue 7: a stream's telephone-event payload types and clock rates.
fn events(s: &Stream) -> Vec<(u8, u32)> {
    s.codecs
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case("telephone-event"))
        .map(|c| (c.pt, c.clock))
        .collect()
}

fn clocks(s: &Stream) -> Vec<(u8, u32)> {
    s.codecs.iter().map(|c| (c.pt, c.clock)).collect()
}

/// Where a SIP description says to send RTP and RTCP (none for a 0.0.0.0
/// hold or a missing address).
pub fn sip_addresses(s: &Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(ip) = s.address.filter(|ip| !ip.is_unspecified()) else {
        return (None, None);
    };
    let rtp = SocketAddr::new(ip, s.port);
    // We never offer or accept rtcp-mux toward SIP, so RTCP has its own port.
    let rtcp = match s.rtcp {
        Some((port, addr)) => SocketAddr::new(addr.unwrap_or(ip), port),
        None => SocketAddr::new(ip, s.port.wrapping_add(1)),
    };
    (Some(rtp), Some(rtcp))
}

/// Completes the exchange with the other leg's answer: the answer for the
/// offerer, and how to relay.
pub fn answer(
    call: &str,
    pending: &PendingOffer,
    sdp_text: &str,
    public_ip: IpAddr,
    fingerprint: &str,
    inactivity: Option<Duration>,
) -> Result<(String, RelayPlan), AnchorError> {
    let answer = sdp::parse(sdp_text).map_err(AnchorError::Unacceptable)?;
    let from = pending.from;
    let mut streams_out = Vec::new();
    let mut local = Vec::new();
    let mut plans = Vec::new();
    let mut xmpp: Vec<Option<XmppTransportPlan>> = vec![None; pending.ports.xmpp.len()];
    let mut sdes_theirs = pending.sdes.as_ref().and_then(|(_, t)| t.clone());
    for (i, offered) in pending.offer.streams.iter().enumerate() {
        let Some(ans) =
            answer_stream(&answer, &pending.sent.streams[i], i).filter(|_| offered.port != 0)
        else {
            let mut s = offered.clone();
            s.port = 0;
            streams_out.push(s);
            local.push(rejected());
            continue;
        };
        let (mut renumbered, ans_to_offer) = renumber(ans, offered);
        // The answer names its streams as the offer did (Chrome refuses an
        // answer whose mid differs; SIP answers often carry none).
        renumbered.mid = Some(sdp::mid_of(&pending.sent.streams[i], i));
        let offer_to_ans: Vec<(u8, u8)> = ans_to_offer.iter().map(|(a, o)| (*o, *a)).collect();
        // Which side is which.
        let (x, s_stream, x_t) = match from {
            MediaLeg::Xmpp => (offered, ans, stream_transport(from, &pending.offer, i)),
            MediaLeg::Sip => (ans, offered, 0),
        };
        let (sip_rtp, sip_rtcp) = sip_addresses(s_stream);
        // The client sends with the numbers of the description we gave it;
        // toward SIP, with the numbers the SIP side's description declares.
        let (to_sip, to_xmpp) = match from {
            MediaLeg::Xmpp => (offer_to_ans.clone(), ans_to_offer.clone()),
            MediaLeg::Sip => (ans_to_offer.clone(), offer_to_ans.clone()),
        };
        plans.push(StreamPlan {
            sip_port: pending.ports.sip[i],
            xmpp_transport: x_t,
            xmpp_pts: match from {
                MediaLeg::Xmpp => x.codecs.iter().map(|c| c.pt).collect(),
                MediaLeg::Sip => renumbered.codecs.iter().map(|c| c.pt).collect(),
            },
            to_sip,
            to_xmpp,
            sip_clock: clocks(s_stream),
            xmpp_clock: clocks(x),
            sip_rtp,
            sip_rtcp,
            // What the SIP peer may receive: its own answer, or the answer
            // we gave to its offer (in its numbering).
            sip_events: match from {
                MediaLeg::Xmpp => events(ans),
                MediaLeg::Sip => events(&renumbered),
            },
        });
        if xmpp[x_t].is_none() {
            let we_active = match (from, x.setup) {
                // We answer the client: RFC 8842 — active unless it is active.
                (MediaLeg::Xmpp, Some(Setup::Active)) => false,
                (MediaLeg::Xmpp, _) => true,
                // The client answered our actpass.
                (MediaLeg::Sip, Some(Setup::Active)) => false,
                (MediaLeg::Sip, _) => true,
            };
            let remote = x
                .address
                .filter(|ip| !ip.is_unspecified())
                .map(|ip| SocketAddr::new(ip, x.port));
            xmpp[x_t] = Some(XmppTransportPlan {
                ice: x.ice().then(|| pending.ice[x_t].clone()),
                remote_ufrag: x.ice_ufrag.clone(),
                dtls: x.dtls().then(|| (we_active, x.fingerprints.clone())),
                remote,
            });
        }
        if from == MediaLeg::Xmpp && pending.sdes.is_some() && sdes_theirs.is_none() {
            let ours_tag = pending.sdes.as_ref().map(|(o, _)| o.tag);
            sdes_theirs = ans
                .crypto
                .iter()
                .filter_map(|c| srtp::parse_crypto_attr(c).ok())
                .find(|c| Some(c.tag) == ours_tag);
            if sdes_theirs.is_none() {
                return Err(AnchorError::Unacceptable(
                    "the SIP answer has no a=crypto for the suite we offered".into(),
                ));
            }
        }
        // The answer for the offerer, in the offerer's numbering.
        streams_out.push(renumbered);
        local.push(match from {
            MediaLeg::Sip => LocalTransport {
                port: pending.ports.sip[i],
                ice: None,
                dtls: None,
                crypto: pending
                    .sdes
                    .as_ref()
                    .map(|(ours, _)| srtp::format_crypto_attr(ours)),
                rtcp_mux: false,
            },
            MediaLeg::Xmpp => {
                let plan = xmpp[x_t].as_ref().expect("set above");
                LocalTransport {
                    port: pending.ports.xmpp[x_t],
                    ice: plan.ice.clone(),
                    dtls: plan.dtls.as_ref().map(|(active, _)| {
                        let setup = if *active {
                            Setup::Active
                        } else {
                            Setup::Passive
                        };
                        (fingerprint.to_string(), setup)
                    }),
                    crypto: None,
                    rtcp_mux: offered.rtcp_mux,
                }
            }
        });
    }
    if plans.is_empty() {
        return Err(AnchorError::Unacceptable("no stream was accepted".into()));
    }
    let bundle = from == MediaLeg::Xmpp && !pending.offer.bundle.is_empty();
    let text = sdp::write(public_ip, pending.session_id, &streams_out, &local, bundle);
    let sdes = match (&pending.sdes, sdes_theirs) {
        (Some((ours, _)), Some(theirs)) => Some((ours.keys.clone(), theirs.keys)),
        _ => None,
    };
    // A transport whose streams were all rejected is never used.
    let xmpp = xmpp
        .into_iter()
        .map(|t| {
            t.unwrap_or(XmppTransportPlan {
                ice: None,
                remote_ufrag: None,
                dtls: None,
                remote: None,
            })
        })
        .collect();
    Ok((
        text,
        RelayPlan {
            call: call.to_string(),
            xmpp,
            streams: plans,
            sdes,
            inactivity,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ports() -> Ports {
        Ports {
            xmpp: vec![20000],
            sip: vec![20002],
        }
    }

    #[test]
    fn a_dtls_sip_offer_is_refused_with_advice() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\n";
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let err = offer(
            &mut rng,
            MediaLeg::Sip,
            sdp,
            SipSrtp::None,
            ports(),
            "192.0.2.1".parse().unwrap(),
            "sha-256 00",
        )
        .unwrap_err();
        assert_eq!(err.sip_status(), 488);
        assert!(err.to_string().contains("passthrough"), "{err}");
    }

    #[test]
    fn an_sdes_sip_offer_is_answered_with_our_own_key_of_its_suite() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (pending, to_xmpp) = offer(
            &mut rng,
            MediaLeg::Sip,
            sdp,
            SipSrtp::None,
            ports(),
            "192.0.2.1".parse().unwrap(),
            "sha-256 00",
        )
        .unwrap();
        assert!(
            !to_xmpp.contains("a=crypto"),
            "no SDES toward XMPP: {to_xmpp}"
        );
        let (ours, theirs) = pending.sdes.clone().expect("SDES chosen");
        assert_eq!(ours.tag, 2);
        assert_eq!(ours.keys.suite, SrtpSuite::AesCm128HmacSha1_32);
        assert_ne!(
            Some(ours.keys.master_key.clone()),
            theirs.map(|t| t.keys.master_key)
        );
        let answer = "v=0\r\nc=IN IP4 192.0.2.20\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\na=mid:audio\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 BB\r\na=setup:active\r\na=rtcp-mux\r\n";
        let (to_sip, plan) = super::answer(
            "c",
            &pending,
            answer,
            "192.0.2.1".parse().unwrap(),
            "sha-256 00",
            None,
        )
        .unwrap();
        assert!(to_sip.contains("m=audio 20002 RTP/SAVP 0"), "{to_sip}");
        assert!(
            to_sip.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"),
            "{to_sip}"
        );
        assert_eq!(
            plan.xmpp[0].dtls.as_ref().map(|d| d.0),
            Some(false),
            "the client is active: we are passive"
        );
        assert_eq!(
            plan.streams[0].sip_rtp,
            Some("192.0.2.9:4000".parse().unwrap())
        );
        assert!(plan.sdes.is_some());
    }

    /// Issue 7: the relay may send RFC 4733 DTMF toward SIP only with a
    /// telephone-event both descriptions kept, in the SIP peer's numbering.
    #[test]
    fn telephone_event_toward_sip_is_what_both_legs_agreed_on() {
        let sip_offer = "v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n";
        let client = |te: &str| {
            format!(
                "v=0\r\nc=IN IP4 192.0.2.20\r\nm=audio 5000 RTP/AVP 0{te}\r\na=rtpmap:0 PCMU/8000\r\n{}",
                if te.is_empty() {
                    String::new()
                } else {
                    "a=rtpmap:101 telephone-event/8000\r\n".into()
                }
            )
        };
        for (answer, want) in [(client(" 101"), vec![(96, 8000)]), (client(""), vec![])] {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let (pending, _) = offer(
                &mut rng,
                MediaLeg::Sip,
                sip_offer,
                SipSrtp::None,
                ports(),
                "192.0.2.1".parse().unwrap(),
                "sha-256 00",
            )
            .unwrap();
            let (_, plan) = super::answer(
                "c",
                &pending,
                &answer,
                "192.0.2.1".parse().unwrap(),
                "sha-256 00",
                None,
            )
            .unwrap();
            assert_eq!(plan.streams[0].sip_events, want, "{answer}");
        }
    }
}
