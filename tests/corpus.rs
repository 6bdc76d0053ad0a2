//! Every file of `../shared/corpus` through the translator.
//!
//! - `.sdp`: `sdp_to_jingle` (as written by the initiator);
//! - `.xml`: `parse_jingle`, then `jingle_to_sdp` (initiator's view);
//! - `.sip`: the body after the first blank line, when the headers say
//!   `Content-Type: application/sdp`, through `sdp_to_jingle`;
//! - `.json`: object models of Jingle, compared in `tests/golden.rs`.
//!
//! The outcome of each file is pinned in [`EXPECTED`], so that any behaviour
//! change shows up here. Entries marked `BUG` assert what the translator
//! *should* do, not what it does today.
//!
//! Run `cargo test --test corpus -- --nocapture` to see the outcome table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::OnceLock;
use stox::jingle::{Description, parse_jingle};
use stox::translate::{Role, SdpOrigin, TranslateError, Warning, jingle_to_sdp, sdp_to_jingle};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const FOLDERS: [&str; 4] = ["jingle", "sdp", "sip", "torture"];

// ---- running the corpus ----------------------------------------------------------

/// A `TranslateError` variant, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SdpSyntax,
    Jingle,
    NoMedia,
    NoUsableMedia,
    MissingIceCredentials,
    /// A variant added after this test was written (the enum is non-exhaustive).
    Other,
}

fn kind(e: &TranslateError) -> Kind {
    match e {
        TranslateError::SdpSyntax { .. } => Kind::SdpSyntax,
        TranslateError::Jingle(_) => Kind::Jingle,
        TranslateError::NoMedia => Kind::NoMedia,
        TranslateError::NoUsableMedia { .. } => Kind::NoUsableMedia,
        TranslateError::MissingIceCredentials { .. } => Kind::MissingIceCredentials,
        _ => Kind::Other,
    }
}

/// What happened to one file.
#[derive(Debug)]
enum Outcome {
    /// Translated: `media` contents (SDP → Jingle) or m= sections (Jingle → SDP).
    Translated {
        media: usize,
        warnings: Vec<Warning>,
    },
    Failed(TranslateError),
    /// A SIP message without an SDP body: nothing to translate.
    NoSdpBody,
    /// A JSON object model of Jingle, not XML.
    Json,
    /// The translator panicked; the payload's message.
    Panicked(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Translated { media, warnings } => {
                write!(f, "ok ({media} contents, {} warnings)", warnings.len())
            }
            Outcome::Failed(e) => write!(
                f,
                "error: {e} [SIP {}, {:?}]",
                e.sip_status(),
                e.jingle_reason()
            ),
            Outcome::NoSdpBody => f.write_str("no SDP body"),
            Outcome::Json => f.write_str("JSON object model (compared in golden tests)"),
            Outcome::Panicked(msg) => write!(f, "PANIC: {msg}"),
        }
    }
}

/// Corpus-relative path → outcome, for every file, computed once per test binary.
fn outcomes() -> &'static BTreeMap<String, Outcome> {
    static OUTCOMES: OnceLock<BTreeMap<String, Outcome>> = OnceLock::new();
    OUTCOMES.get_or_init(|| {
        let mut all = BTreeMap::new();
        for folder in FOLDERS {
            let dir = Path::new(CORPUS).join(folder);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                all.insert(name.clone(), run_guarded(&name, &bytes));
            }
        }
        all
    })
}

/// Runs one file, turning a panic into an outcome so the other files still run.
fn run_guarded(name: &str, bytes: &[u8]) -> Outcome {
    catch_unwind(AssertUnwindSafe(|| run(name, bytes))).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic payload".into());
        Outcome::Panicked(msg)
    })
}

fn run(name: &str, bytes: &[u8]) -> Outcome {
    // RFC 4475 messages carry NUL, 0x7F and Latin-1 bytes; the SDP parts are ASCII.
    let text = String::from_utf8_lossy(bytes);
    let extension = name.rsplit('.').next().unwrap_or("");
    let result = match extension {
        "sdp" => translate_sdp(&text),
        "xml" => translate_xml(&text),
        "sip" => match sip_sdp_body(&text) {
            Some(body) => translate_sdp(body),
            None => return Outcome::NoSdpBody,
        },
        "json" => return Outcome::Json,
        other => panic!("{name}: no rule for .{other} files"),
    };
    match result {
        Ok((media, warnings)) => Outcome::Translated { media, warnings },
        Err(e) => Outcome::Failed(e),
    }
}

fn translate_sdp(text: &str) -> Result<(usize, Vec<Warning>), TranslateError> {
    let t = sdp_to_jingle(text, Role::Initiator)?;
    Ok((t.value.contents.len(), t.warnings))
}

fn translate_xml(text: &str) -> Result<(usize, Vec<Warning>), TranslateError> {
    let jingle = parse_jingle(text)?;
    let t = jingle_to_sdp(&jingle, Role::Initiator, &SdpOrigin::default())?;
    let media = t
        .value
        .split("\r\n")
        .filter(|l| l.starts_with("m="))
        .count();
    Ok((media, t.warnings))
}

/// The body of a SIP message whose `Content-Type` (or compact `c`) header is
/// `application/sdp`; headers end at the first empty line (CRLF or bare LF).
fn sip_sdp_body(message: &str) -> Option<&str> {
    let crlf = message.find("\r\n\r\n").map(|i| (i, i + 4));
    let lf = message.find("\n\n").map(|i| (i, i + 2));
    let (head_end, body_start) = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let head = &message[..head_end];
    // Unfold continuation lines (RFC 3261 §7.3.1) before reading header names.
    let unfolded = head
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    let is_sdp = unfolded.lines().skip(1).any(|line| {
        let Some((name, value)) = line.split_once(':') else {
            return false;
        };
        let name = name.trim();
        let media_type = value.split(';').next().unwrap_or("").trim();
        (name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("c"))
            && media_type.eq_ignore_ascii_case("application/sdp")
    });
    is_sdp.then(|| &message[body_start..])
}

// ---- expectations ------------------------------------------------------------------

/// The outcome a file must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Translated into `media` contents / m= sections; `warned`: whether the
    /// translator must report at least one warning.
    Ok {
        media: usize,
        warned: bool,
    },
    Err(Kind),
    NoSdp,
    Json,
}

/// Translated, with nothing to report.
const fn clean(media: usize) -> Expect {
    Expect::Ok {
        media,
        warned: false,
    }
}

/// Translated, with at least one warning (something was left out or approximated).
const fn warned(media: usize) -> Expect {
    Expect::Ok {
        media,
        warned: true,
    }
}

use Expect::{Json, NoSdp};
use Kind::{Jingle as JingleErr, NoMedia, NoUsableMedia, SdpSyntax};

/// Every corpus file and the outcome it must have. Checked against each file's
/// content and its INDEX.md notes, not only copied from what the code does.
#[rustfmt::skip]
const EXPECTED: &[(&str, Expect)] = &[
    // ---- jingle/ --------------------------------------------------------------------
    // session-info / session-terminate carry no <content/>: nothing to translate.
    ("jingle/atalk-session-info-ringing.xml", Expect::Err(NoMedia)),
    // transport-info without <description/>: a dummy m= line, as RFC 8840 sdpfrags do.
    ("jingle/dino-transport-info-srflx-component2.xml", warned(1)),
    // candidates carry `network`, which is not sent toward SIP (warned).
    ("jingle/jitsi-libjitsimeet-session-initiate-from-focus.xml", warned(2)),
    // <json-message/> is Jitsi-proprietary: reported, the two contents still translate.
    ("jingle/jitsi-libjitsimeet-session-initiate-json-sources.xml", warned(2)),
    ("jingle/mongooseim-content-chrome-audio-opus-ssma.xml", clean(1)),
    ("jingle/mongooseim-content-firefox-audio-nameless-parameter.xml", clean(1)),
    ("jingle/mongooseim-content-firefox-video-senders-responder.xml", clean(1)),
    ("jingle/mongooseim-content-video-senders-none-no-ice-creds.xml", clean(1)),
    ("jingle/sdpjinglejson-chrome-offer-jingle.json", Json),
    ("jingle/sdpjinglejson-no-source-jingle.json", Json),
    ("jingle/stanza-audio-video-jingle.json", Json),
    ("jingle/stanza-datachannel-jingle.json", Json),
    // BUG: the data-channel content '2' (no <description/>, an <sctpmap/> in its
    // transport) is written as a bogus "m=audio 9 … 0" sendrecv stream; it must be
    // left out with a warning, like m=application is on the way in: 2 m= sections.
    ("jingle/stanza-generated-from-chrome-unified-plan-simulcast.xml", warned(2)),
    ("jingle/stanza-generated-from-firefox58-offer-audio.xml", clean(1)),
    // stanza's defect: <content/> without the name XEP-0166 requires.
    ("jingle/stanza-generated-from-freeswitch-dtls-answer-no-mid.xml", Expect::Err(JingleErr)),
    ("jingle/stanza-generated-from-jssip-chrome-offer-sdes-dtls.xml", clean(1)),
    // BUG: same as the simulcast file: content 'data' must not become m=audio.
    ("jingle/stanza-generated-from-safari-offer-audio-video-data.xml", warned(2)),
    ("jingle/stanza-generated-from-stanza-audio-video-chrome-offer.xml", clean(2)),
    ("jingle/stanza-xep0167-session-initiate-chrome.xml", clean(2)),
    ("jingle/xep0166-session-terminate-busy.xml", Expect::Err(NoMedia)),
    // obsolete ice-udp:0 namespace read; empty transport gives port 9.
    ("jingle/xep0167-content-add-video.xml", clean(1)),
    ("jingle/xep0167-session-accept-audio-ice.xml", warned(1)),
    ("jingle/xep0167-session-info-active.xml", Expect::Err(NoMedia)),
    ("jingle/xep0167-session-info-hold.xml", Expect::Err(NoMedia)),
    ("jingle/xep0167-session-initiate-audio-ice.xml", warned(1)),
    ("jingle/xep0167-session-terminate-security-error-crypto.xml", Expect::Err(NoMedia)),
    ("jingle/xep0176-transport-info-ice-restart.xml", warned(1)),
    ("jingle/xep0176-transport-info-in-use-candidate.xml", warned(1)),
    // priority 21149780477 > 2^32-1 must be an error, not a silent wrap.
    ("jingle/xep0176-transport-info-ipv6-candidate-bad-priority.xml", Expect::Err(JingleErr)),
    // PT 98/99 lack a clockrate: no a=rtpmap can be written (warned).
    ("jingle/xep0293-rtcp-fb-same-description-xmpp.xml", warned(2)),
    // a spec fragment: the description has rtp-hdrext but no payload-type, and an
    // m= line needs at least one format.
    ("jingle/xep0294-rtp-hdrext-same-description-xmpp.xml", Expect::Err(NoUsableMedia)),
    ("jingle/xep0320-session-accept-dtls-setup-active.xml", warned(1)),
    ("jingle/xep0320-session-initiate-dtls-fingerprint.xml", warned(1)),
    ("jingle/xep0320-transport-info-fingerprint.xml", warned(1)),
    // no <transport/>: port 9 / 0.0.0.0 (warned).
    ("jingle/xep0339-ssrc-group-fid-content.xml", warned(1)),
    // JMI <message/>s are not Jingle media descriptions.
    ("jingle/xep0353-proceed-message.xml", Expect::Err(JingleErr)),
    ("jingle/xep0353-propose-message.xml", Expect::Err(JingleErr)),
    // ---- sdp/ -----------------------------------------------------------------------
    ("sdp/aiortc-firefox58-offer-audio.sdp", clean(1)),
    ("sdp/aiortc-firefox61-offer-video.sdp", clean(1)),
    ("sdp/aiortc-freeswitch-dtls-answer-audio.sdp", clean(1)),
    // network-cost dropped; legacy DTLS/SCTP m-line left out.
    ("sdp/aiortc-safari-offer-audio-video-data.sdp", warned(2)),
    // proprietary a=alt / a=x-rtp-session-id reported.
    ("sdp/baresip-re-counterpath-eyebeam-offer-alt.sdp", warned(2)),
    ("sdp/baresip-re-ekiga3-offer-celt.sdp", clean(1)),
    ("sdp/baresip-re-freeswitch-1.0rc1-offer.sdp", warned(1)),
    ("sdp/baresip-re-lg-ipphone-audio-video.sdp", clean(2)),
    ("sdp/baresip-re-polycom-sdes-rtpavp.sdp", clean(1)),
    ("sdp/jitsi-libjitsimeet-adapterjs-answer-unordered-ssrc.sdp", clean(2)),
    // the data channel m-line is left out (warned): 7 of 8.
    ("sdp/jitsi-libjitsimeet-chrome-unified-plan-8-mlines-recvonly.sdp", warned(7)),
    ("sdp/jitsi-libjitsimeet-chrome-unified-plan-simulcast-datachannel.sdp", warned(2)),
    ("sdp/jitsi-libjitsimeet-from-session-initiate-from-focus.sdp", clean(2)),
    ("sdp/jitsi-libjitsimeet-from-session-initiate-json-sources.sdp", clean(5)),
    // rtpmap for PT 9, absent from the m= line: reported.
    ("sdp/livekit-sip-answer-rtpmap-for-unlisted-pt.sdp", warned(1)),
    ("sdp/mozilla-webrtcsdp-chrome-answer-relay.sdp", warned(2)),
    // BUG: "a=ssrc:1406527973" has no attribute, which RFC 5576 §4.1 requires; it
    // is accepted silently (and written back verbatim). It must at least be reported.
    ("sdp/phonerlite-3.24-offer-ssrc-without-attribute.sdp", warned(1)),
    // port-0 video left out (warned), audio kept.
    ("sdp/pjsip-test-offer-port0-video-no-rtpmap.sdp", warned(1)),
    ("sdp/pjsip-test-offer-session-level-sendonly.sdp", clean(1)),
    ("sdp/rtpengine-ccs-offer-amr-bandwidth.sdp", warned(1)),
    // H.224 application m-line left out, Cisco attributes reported.
    ("sdp/rtpengine-cisco-cucm-offer-audio-video-h224.sdp", warned(2)),
    ("sdp/rtpengine-freeswitch-answer-pcma-te.sdp", warned(1)),
    // QoS preconditions reported, IMS data channel left out.
    ("sdp/rtpengine-ims-volte-offer-amrwb-precondition-datachannel.sdp", warned(1)),
    ("sdp/rtpengine-sbc01-offer-pcma-te.sdp", clean(1)),
    ("sdp/rtpengine-sonus-offer-sendonly-msid.sdp", warned(1)),
    ("sdp/sdpjinglejson-chrome-offer-sdes-dtls.sdp", clean(2)),
    ("sdp/sdpjinglejson-no-source-offer.sdp", clean(1)),
    // BFCP left out: audio + two videos remain.
    ("sdp/sdptransform-bfcp-video-endpoint.sdp", warned(3)),
    ("sdp/sdptransform-chrome-ssrc-flexfec.sdp", clean(2)),
    // a=ice-lite and the RTP/SAVPF profile are reported.
    ("sdp/sdptransform-icelite-srtp-dtls.sdp", warned(1)),
    ("sdp/sdptransform-jssip-chrome-offer.sdp", warned(1)),
    ("sdp/stanza-audio-video-chrome-offer.sdp", clean(2)),
    // data channel only: no RTP media at all.
    ("sdp/stanza-datachannel-offer.sdp", Expect::Err(NoUsableMedia)),
    ("sdp/stanza-generated-from-jitsi-focus-session-initiate.sdp", clean(2)),
    ("sdp/stanza-generated-from-xep0167-session-initiate-chrome.sdp", clean(2)),
    // lines indented with a space, c= only at media level: accepted.
    ("sdp/xep0293-rtcp-fb-sdp-fragment.sdp", clean(2)),
    // RFC 8285's "m=video" has no port, proto or format: not an SDP m= line.
    ("sdp/xep0294-rtp-hdrext-sdp-fragment.sdp", Expect::Err(SdpSyntax)),
    // no rtpmap for 116/117; RTP/SAVPF without keys is reported.
    ("sdp/xep0339-ssrc-group-fid-sdp.sdp", warned(1)),
    // ---- sip/ -----------------------------------------------------------------------
    ("sip/resiprocate-polycom-invite-replaces-embedded-headers.sip", clean(1)),
    ("sip/rfc3665-3.1-f1-invite.sip", clean(1)),
    ("sip/rfc3665-3.1-f2-180-ringing.sip", NoSdp),
    ("sip/rfc3665-3.1-f3-200-ok.sip", clean(1)),
    ("sip/rfc3665-3.1-f4-ack.sip", NoSdp),
    ("sip/rfc3665-3.1-f5-bye.sip", NoSdp),
    ("sip/rfc3665-3.1-f6-200-ok-bye.sip", NoSdp),
    ("sip/rfc3665-3.6-f10-200-ok-offer.sip", clean(1)),
    ("sip/rfc3665-3.6-f11-ack-answer.sip", clean(1)),
    ("sip/rfc3665-3.6-f4-invite-no-sdp.sip", NoSdp),
    ("sip/rfc3665-3.7-f10-200-ok-reinvite.sip", clean(1)),
    ("sip/rfc3665-3.7-f9-reinvite.sip", clean(1)),
    ("sip/rfc3665-3.8-f17-487-request-terminated.sip", NoSdp),
    ("sip/rfc3665-3.8-f9-cancel.sip", NoSdp),
    ("sip/rfc3665-3.9-f10-486-busy-here.sip", NoSdp),
    ("sip/sipjs-invite-wss-chrome-sdes-dtls.sip", warned(1)),
    ("sip/sipsorcery-asterisk-200-ok-invite.sip", warned(1)),
    // QoS precondition attributes (a=curr/a=des/a=conf) reported.
    ("sip/volte-ims-anon-183-session-progress-100rel-sdp.sip", warned(1)),
    ("sip/volte-ims-anon-200-ok-invite-no-sdp.sip", NoSdp),
    ("sip/volte-ims-anon-200-ok-update-answer.sip", warned(1)),
    ("sip/volte-ims-anon-invite-ipv6-precondition-amrwb.sip", warned(1)),
    ("sip/volte-ims-anon-update-precondition-offer.sip", warned(1)),
    // ---- torture/ -------------------------------------------------------------------
    // three leading ";" comment lines of webrtc-sdp's example parser: not SDP.
    ("torture/mozilla-webrtcsdp-firefox-unittest-08.sdp", Expect::Err(SdpSyntax)),
    ("torture/rfc4475-3.1.1.1-wsinv.sip", warned(2)),
    ("torture/rfc4475-3.1.1.10-transports.sip", NoSdp),
    // multipart/mixed body: no top-level application/sdp.
    ("torture/rfc4475-3.1.1.11-mpart01.sip", NoSdp),
    ("torture/rfc4475-3.1.1.12-unreason.sip", warned(2)),
    ("torture/rfc4475-3.1.1.13-noreason.sip", NoSdp),
    ("torture/rfc4475-3.1.1.2-intmeth.sip", NoSdp),
    // compact "C: application/sdp"
    ("torture/rfc4475-3.1.1.3-esc01.sip", warned(2)),
    ("torture/rfc4475-3.1.1.4-escnull.sip", NoSdp),
    ("torture/rfc4475-3.1.1.5-esc02.sip", NoSdp),
    ("torture/rfc4475-3.1.1.6-lwsdisp.sip", NoSdp),
    ("torture/rfc4475-3.1.1.7-longreq.sip", warned(2)),
    // the REGISTER (Content-Length 0) comes first; the INVITE after it is junk.
    ("torture/rfc4475-3.1.1.8-dblreq.sip", NoSdp),
    ("torture/rfc4475-3.1.1.9-semiuri.sip", NoSdp),
    ("torture/rfc4475-3.1.2.1-badinv01.sip", warned(2)),
    ("torture/rfc4475-3.1.2.10-trws.sip", NoSdp),
    ("torture/rfc4475-3.1.2.11-escruri.sip", warned(2)),
    ("torture/rfc4475-3.1.2.12-baddate.sip", warned(2)),
    ("torture/rfc4475-3.1.2.13-regbadct.sip", NoSdp),
    ("torture/rfc4475-3.1.2.14-badaspec.sip", NoSdp),
    ("torture/rfc4475-3.1.2.15-baddn.sip", NoSdp),
    ("torture/rfc4475-3.1.2.16-badvers.sip", NoSdp),
    ("torture/rfc4475-3.1.2.17-mismatch01.sip", NoSdp),
    ("torture/rfc4475-3.1.2.18-mismatch02.sip", warned(2)),
    ("torture/rfc4475-3.1.2.19-bigcode.sip", NoSdp),
    ("torture/rfc4475-3.1.2.2-clerr.sip", warned(2)),
    ("torture/rfc4475-3.1.2.3-ncl.sip", warned(2)),
    ("torture/rfc4475-3.1.2.4-scalar02.sip", NoSdp),
    ("torture/rfc4475-3.1.2.5-scalarlg.sip", NoSdp),
    ("torture/rfc4475-3.1.2.6-quotbal.sip", warned(2)),
    ("torture/rfc4475-3.1.2.7-ltgtruri.sip", warned(2)),
    ("torture/rfc4475-3.1.2.8-lwsruri.sip", warned(2)),
    ("torture/rfc4475-3.1.2.9-lwsstart.sip", warned(2)),
    ("torture/rfc4475-3.2.1-badbranch.sip", NoSdp),
    ("torture/rfc4475-3.3.1-insuf.sip", warned(2)),
    ("torture/rfc4475-3.3.10-bcast.sip", warned(2)),
    ("torture/rfc4475-3.3.11-zeromf.sip", NoSdp),
    ("torture/rfc4475-3.3.12-cparam01.sip", NoSdp),
    ("torture/rfc4475-3.3.13-cparam02.sip", NoSdp),
    ("torture/rfc4475-3.3.14-regescrt.sip", NoSdp),
    ("torture/rfc4475-3.3.15-sdp01.sip", warned(2)),
    ("torture/rfc4475-3.3.2-unkscm.sip", NoSdp),
    ("torture/rfc4475-3.3.3-novelsc.sip", NoSdp),
    ("torture/rfc4475-3.3.4-unksm2.sip", NoSdp),
    ("torture/rfc4475-3.3.5-bext01.sip", NoSdp),
    ("torture/rfc4475-3.3.6-invut.sip", NoSdp),
    ("torture/rfc4475-3.3.7-regaut01.sip", NoSdp),
    ("torture/rfc4475-3.3.8-multi01.sip", warned(2)),
    ("torture/rfc4475-3.3.9-mcl01.sip", NoSdp),
    // RFC 2543 syntax is a SIP-level matter; its SDP (PCMU only) is plain.
    ("torture/rfc4475-3.4.1-inv2543.sip", clean(1)),
    ("torture/sdptransform-hacky.sdp", warned(2)),
    ("torture/sipsorcery-cisco-ios-gw-invite-truncated-body.sip", warned(1)),
    ("torture/sipsorcery-msc-vc510-200-ok-invite-cl-exceeds-body.sip", clean(1)),
    ("torture/sipsorcery-netgear-ta612v-invite-duplicate-pt.sip", warned(1)),
    ("torture/sipsorcery-neuralx-mxsf-invite-cl-exceeds-body.sip", clean(1)),
    // stanza's "m=audio 0": port 0 is a rejected stream (RFC 3264 §6), so nothing remains.
    ("torture/stanza-generated-from-xep0167-initiation-port0-undefined-clockrate.sdp", Expect::Err(NoUsableMedia)),
    // the fingerprint spans three physical lines: the continuation lines are not SDP.
    ("torture/stanza-generated-from-xep0320-fingerprint-with-whitespace.sdp", Expect::Err(SdpSyntax)),
];

fn matches(expect: Expect, outcome: &Outcome) -> bool {
    match (expect, outcome) {
        (Expect::Ok { media, warned }, Outcome::Translated { media: m, warnings }) => {
            let has_warnings = !warnings.is_empty();
            media == *m && warned == has_warnings
        }
        (Expect::Err(k), Outcome::Failed(e)) => kind(e) == k,
        (Expect::NoSdp, Outcome::NoSdpBody) | (Expect::Json, Outcome::Json) => true,
        _ => false,
    }
}

/// The outcome table, with warnings spelled out under each file.
fn table() -> String {
    let mut out = String::from("corpus file -> outcome\n");
    for (name, outcome) in outcomes() {
        let _ = writeln!(out, "{name:<80} {outcome}");
        if let Outcome::Translated { warnings, .. } = outcome {
            for w in warnings {
                let _ = writeln!(out, "    warning: {w}");
            }
        }
    }
    out
}

fn print_table() {
    let table = table();
    println!("{table}");
    // Also on stderr, so the table is there whenever a test fails.
    eprintln!("{table}");
}

// ---- tests -------------------------------------------------------------------------

#[test]
fn the_table_lists_every_corpus_file_once() {
    let listed: BTreeMap<&str, usize> =
        EXPECTED.iter().fold(BTreeMap::new(), |mut m, (name, _)| {
            *m.entry(*name).or_default() += 1;
            m
        });
    let twice: Vec<_> = listed
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(name, _)| name)
        .collect();
    assert!(twice.is_empty(), "listed twice: {twice:?}");
    let missing: Vec<_> = outcomes()
        .keys()
        .filter(|f| !listed.contains_key(f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "corpus files without an expected outcome: {missing:?}"
    );
    let stale: Vec<_> = listed
        .keys()
        .filter(|f| !outcomes().contains_key(**f))
        .collect();
    assert!(
        stale.is_empty(),
        "expected outcomes for files not in the corpus: {stale:?}"
    );
}

#[test]
fn no_file_makes_the_translator_panic() {
    let panics: Vec<String> = outcomes()
        .iter()
        .filter_map(|(name, o)| match o {
            Outcome::Panicked(msg) => Some(format!("{name}: {msg}")),
            _ => None,
        })
        .collect();
    if !panics.is_empty() {
        print_table();
    }
    assert!(
        panics.is_empty(),
        "the translator panicked on:\n{}",
        panics.join("\n")
    );
}

#[test]
fn every_error_maps_to_a_final_sip_status() {
    for (name, outcome) in outcomes() {
        if let Outcome::Failed(e) = outcome {
            let status = e.sip_status().0;
            assert!(
                (400..700).contains(&status),
                "{name}: {e} maps to SIP {status}"
            );
        }
    }
}

#[test]
fn every_file_has_its_expected_outcome() {
    print_table();
    let mismatches: Vec<String> = EXPECTED
        .iter()
        .filter_map(|(name, expect)| {
            let outcome = outcomes().get(*name)?;
            (!matches(*expect, outcome))
                .then(|| format!("{name}\n    expected {expect:?}\n    got      {outcome}"))
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} file(s) differ from the expected outcome:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

// ---- defects the outcome table cannot see -------------------------------------------

fn sdp_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(CORPUS).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn rtp(content: &stox::jingle::Content) -> &stox::jingle::RtpDescription {
    match &content.description {
        Some(Description::Rtp(d)) => d,
        other => panic!(
            "content '{}' has no RTP description: {other:?}",
            content.name
        ),
    }
}

/// A `<content/>` without `<description/>` whose ICE transport carries an XEP-0343
/// `<sctpmap/>` is a data channel (stanza, Jitsi). It must not become an RTP
/// `m=audio … 0` (PCMU, sendrecv) in an offer; like `m=application` on the way
/// in, it is left out with a warning naming it.
#[test]
fn a_data_channel_content_is_not_written_as_an_audio_stream() {
    let xml = sdp_file("jingle/stanza-generated-from-safari-offer-audio-video-data.xml");
    let t = jingle_to_sdp(
        &parse_jingle(&xml).unwrap(),
        Role::Initiator,
        &SdpOrigin::default(),
    )
    .unwrap();
    let mids: Vec<&str> = t
        .value
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("a=mid:"))
        .collect();
    assert_eq!(
        mids,
        ["audio", "video"],
        "the data channel became an m= section"
    );
    assert!(
        t.warnings.iter().any(|w| w.to_string().contains("'data'")),
        "leaving the data channel out must be reported: {:?}",
        t.warnings
    );
}

/// `a=ptime:0.125` (sdp-transform's hacky vector) must not become `ptime='0'`:
/// Jingle's ptime is whole milliseconds, and 0 is no packet time at all.
#[test]
fn a_fractional_ptime_is_not_rounded_to_zero() {
    let t = sdp_to_jingle(&sdp_file("torture/sdptransform-hacky.sdp"), Role::Initiator).unwrap();
    let audio = rtp(&t.value.contents[0]);
    let zero: Vec<u8> = audio
        .payload_types
        .iter()
        .filter(|p| p.ptime == Some(0))
        .map(|p| p.id)
        .collect();
    assert!(
        zero.is_empty(),
        "payload types {zero:?} got ptime='0' from a=ptime:0.125"
    );
    assert!(
        t.warnings.iter().any(|w| w.to_string().contains("ptime")),
        "the approximation of a=ptime:0.125 is not reported: {:?}",
        t.warnings
    );
}

/// The Netgear INVITE maps PT 101 to two codecs: the first rtpmap wins and the
/// conflict is reported; the duplicate PT on the m= line is kept once.
#[test]
fn a_payload_type_with_two_rtpmaps_keeps_the_first_and_reports_the_second() {
    let message = sdp_file("torture/sipsorcery-netgear-ta612v-invite-duplicate-pt.sip");
    let body = sip_sdp_body(&message).expect("application/SDP body");
    let t = sdp_to_jingle(body, Role::Initiator).unwrap();
    let audio = rtp(&t.value.contents[0]);
    let pt101: Vec<_> = audio.payload_types.iter().filter(|p| p.id == 101).collect();
    assert_eq!(pt101.len(), 1, "PT 101 must appear once");
    assert_eq!(pt101[0].name.as_deref(), Some("telephone-event"));
    let text: Vec<String> = t.warnings.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|w| w.contains("listed twice")), "{text:?}");
    assert!(text.iter().any(|w| w.contains("G726-24")), "{text:?}");
}

/// Chrome's "a=fmtp:107 ;level-asymmetry-allowed=1;…" has an empty first piece;
/// stanza keeps it as an empty <parameter/>. Writing SDP from that must not
/// reproduce the stray leading ";".
#[test]
fn an_empty_fmtp_parameter_is_not_written_back() {
    let xml = sdp_file("jingle/stanza-generated-from-chrome-unified-plan-simulcast.xml");
    let jingle = parse_jingle(&xml).unwrap();
    let sdp = jingle_to_sdp(&jingle, Role::Initiator, &SdpOrigin::default())
        .unwrap()
        .value;
    let fmtp107 = sdp
        .split("\r\n")
        .find(|l| l.starts_with("a=fmtp:107 "))
        .expect("a=fmtp:107");
    assert_eq!(
        fmtp107,
        "a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "an empty parameter became an empty fmtp piece"
    );
}
