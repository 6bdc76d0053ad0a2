//! Golden comparisons: for each SDP⇄Jingle pair P1–P18 of
//! `../shared/corpus/INDEX.md`, our translation against the other converter's
//! (or the XEP author's) rendering of the same session.
//!
//! Both sides are reduced to normalised facts (`tests/common/mod.rs`) and each
//! test pins what only we say and what only they say. Every entry of those
//! lists is a deliberate, explained difference; a new or vanished difference
//! fails the test. Reasons that recur are tagged once here:
//!
//! - `[TE]` draft-ietf-stox-media §10 (checklist 14): telephone-event's event
//!   list is `<parameter name='events'/>`, and `0-15` is made explicit when the
//!   SDP has no fmtp; the others keep a bare token, or nothing.
//! - `[SSRC]` we keep every `a=ssrc` line (label, msid, mslabel, and the RTX /
//!   simulcast SSRCs); stanza keeps the first SSRC's cname only, lib-jitsi-meet
//!   only cnames.
//! - `[DSSRC]` stanza and otalk fill XEP-0167's optional `<description ssrc/>`
//!   with the first SSRC; we leave it to the `<source/>` elements.
//! - `[STREAM]` stanza turns the `a=ssrc … msid:` value into a media-level
//!   `<stream/>`; we keep msid where the SDP had it (an ssrc attribute).
//! - `[ADDR]` we put the default ICE candidate on m=/c= (RFC 8839 §4.2.1.2), so a
//!   SIP peer without ICE still gets a reachable address; the others write the
//!   dummy `9` / `0.0.0.0`.
//! - `[RTCP]` they write `a=rtcp` with a dummy port; we write it only for a real
//!   component-2 candidate (with rtcp-mux there is none).
//! - `[MSIDSEM]` `a=msid-semantic` repeats what the msid lines say; not carried.
//! - `[EOC]` we carry `a=end-of-candidates` (as `<gathering-complete/>`); stanza drops it.
//! - `[MIXED]` stanza drops media-level `a=extmap-allow-mixed`; XEP-0294 has
//!   `<extmap-allow-mixed/>` for it and we keep it.
//! - `[PTIME]` stanza drops `a=ptime`/`a=maxptime`; XEP-0167 carries them per
//!   payload-type, so we copy the media-level value onto each.

mod common;

use common::{
    Facts, Key, assert_differences, corpus, jingle_facts, json_facts, sdp_facts, take_section,
};
use stox::jingle::{Description, parse_jingle};
use stox::translate::{Role, SdpOrigin, TranslateError, jingle_to_sdp, sdp_to_jingle};

// ---- helpers ---------------------------------------------------------------------------

/// Our Jingle for an SDP text written by `writer`, as facts.
fn ours_from_sdp_text(sdp: &str, writer: Role, key: Key) -> Facts {
    let translated =
        sdp_to_jingle(sdp, writer).unwrap_or_else(|e| panic!("our SDP → Jingle failed: {e}"));
    jingle_facts(&translated.value, key)
}

fn ours_from_sdp(file: &str, writer: Role, key: Key) -> Facts {
    ours_from_sdp_text(&corpus(file), writer, key)
}

/// Our SDP for a Jingle file, as facts.
fn ours_from_jingle(file: &str, writer: Role, key: Key) -> Facts {
    let jingle = parse_jingle(&corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let sdp = jingle_to_sdp(&jingle, writer, &SdpOrigin::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    sdp_facts(&sdp.value, writer, key)
}

/// Another converter's Jingle XML, read with our parser.
fn theirs_xml(xml: &str, key: Key) -> Facts {
    jingle_facts(
        &parse_jingle(xml).unwrap_or_else(|e| panic!("their XML: {e}")),
        key,
    )
}

fn theirs_json(file: &str, key: Key) -> Facts {
    let value = serde_json::from_str(&corpus(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    json_facts(&value, key)
}

fn theirs_sdp(text: &str, writer: Role, key: Key) -> Facts {
    sdp_facts(text, writer, key)
}

/// Removes a data-channel section from `theirs`: we translate RTP only and leave
/// `m=application` out with a warning, where stanza maps it to an XEP-0343
/// `<sctpmap/>` transport. Checks the section really is that.
fn drop_data_channel(theirs: &mut Facts, section: &str) {
    let data = take_section(theirs, section);
    let sctpmap = format!(
        "{section}: transport-child <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'/>"
    );
    assert!(
        data.contains(&sctpmap),
        "section '{section}' is not stanza's data channel: {data:#?}"
    );
}

const I: Role = Role::Initiator;

// ---- P1–P2: Jingle from Jitsi's focus → SDP ----------------------------------------------

/// P1, lib-jitsi-meet's SDP.fromJingle (keyed by order: it renames the mids to 0/1).
#[test]
fn p01_jitsi_focus_offer_against_lib_jitsi_meet() {
    let ours = ours_from_jingle(
        "jingle/jitsi-libjitsimeet-session-initiate-from-focus.xml",
        I,
        Key::Order,
    );
    let theirs = theirs_sdp(
        &corpus("sdp/jitsi-libjitsimeet-from-session-initiate-from-focus.sdp"),
        I,
        Key::Order,
    );
    assert_differences(
        "P1 lib-jitsi-meet",
        &ours,
        &theirs,
        &[
            "m0: name audio", // we keep the content names as a=mid; lib-jitsi-meet renumbers them
            "m1: name video", // (same)
            "m0: address 10.0.0.2 10000", // [ADDR]
            "m1: address 10.0.0.2 10000", // [ADDR]
            "m0: maxptime 60", // Jitsi's maxptime on <description/>; lib-jitsi-meet drops it
            "m0: ssrc 4039389863 label=mixedlabelaudio0", // [SSRC]
            "m0: ssrc 4039389863 msid=mixedmslabel mixedlabelaudio0", // [SSRC]
            "m0: ssrc 4039389863 mslabel=mixedmslabel", // [SSRC]
            "m1: ssrc 3758540092 label=mixedlabelvideo0", // [SSRC]
            "m1: ssrc 3758540092 msid=mixedmslabel mixedlabelvideo0", // [SSRC]
            "m1: ssrc 3758540092 mslabel=mixedmslabel", // [SSRC]
        ],
        &[
            "m0: name 0",                      // lib-jitsi-meet renumbers mids
            "m1: name 1",                      // (same)
            "m0: address 0.0.0.0 9",           // [ADDR]
            "m1: address 0.0.0.0 9",           // [ADDR]
            "m0: rtcp 1 IN IP4 0.0.0.0",       // [RTCP] lib-jitsi-meet's "port 1" quirk
            "m1: rtcp 1 IN IP4 0.0.0.0",       // [RTCP]
            "session: a=msid-semantic: WMS *", // [MSIDSEM]
        ],
    );
}

/// P1, stanza's rendering of the same XML (same mids, so keyed by name).
#[test]
fn p01_jitsi_focus_offer_against_stanza() {
    let ours = ours_from_jingle(
        "jingle/jitsi-libjitsimeet-session-initiate-from-focus.xml",
        I,
        Key::Name,
    );
    let theirs = theirs_sdp(
        &corpus("sdp/stanza-generated-from-jitsi-focus-session-initiate.sdp"),
        I,
        Key::Name,
    );
    assert_differences(
        "P1 stanza",
        &ours,
        &theirs,
        &[
            "audio: address 10.0.0.2 10000",                             // [ADDR]
            "video: address 10.0.0.2 10000",                             // [ADDR]
            "audio: extmap-allow-mixed",                                 // [MIXED]
            "video: extmap-allow-mixed",                                 // [MIXED]
            "audio: fmtp 126 0-15", // Jitsi's <parameter name='' value='0-15'/> is a bare token
            "audio: maxptime 60",   // [PTIME] (Jitsi puts maxptime on <description/>)
            "audio: ssrc 4039389863 label=mixedlabelaudio0", // [SSRC]
            "audio: ssrc 4039389863 msid=mixedmslabel mixedlabelaudio0", // [SSRC]
            "audio: ssrc 4039389863 mslabel=mixedmslabel", // [SSRC]
            "video: ssrc 3758540092 label=mixedlabelvideo0", // [SSRC]
            "video: ssrc 3758540092 msid=mixedmslabel mixedlabelvideo0", // [SSRC]
            "video: ssrc 3758540092 mslabel=mixedmslabel", // [SSRC]
        ],
        &[
            "audio: address 0.0.0.0 9",       // [ADDR]
            "video: address 0.0.0.0 9",       // [ADDR]
            "audio: fmtp 126 undefined=0-15", // stanza bug: the empty name becomes "undefined"
            "audio: rtcp 9 IN IP4 0.0.0.0",   // [RTCP]
            "video: rtcp 9 IN IP4 0.0.0.0",   // [RTCP]
            "session: a=msid-semantic:WMS *", // [MSIDSEM]
        ],
    );
}

/// P2: the remote sources ride in Jitsi's proprietary `<json-message/>`, which
/// lib-jitsi-meet expands into three extra sendonly m-lines. We report the
/// element as unknown (a warning) and translate the two real contents.
#[test]
fn p02_jitsi_json_sources_against_lib_jitsi_meet() {
    let file = "jingle/jitsi-libjitsimeet-session-initiate-json-sources.xml";
    let jingle = parse_jingle(&corpus(file)).unwrap();
    let warnings = jingle_to_sdp(&jingle, I, &SdpOrigin::default())
        .unwrap()
        .warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("json-message")),
        "{warnings:?}"
    );

    let ours = ours_from_jingle(file, I, Key::Order);
    let mut theirs = theirs_sdp(
        &corpus("sdp/jitsi-libjitsimeet-from-session-initiate-json-sources.sdp"),
        I,
        Key::Order,
    );
    for expanded in ["m2", "m3", "m4"] {
        take_section(&mut theirs, expanded); // the JSON-only endpoints' video m-lines
    }
    assert_differences(
        "P2 lib-jitsi-meet",
        &ours,
        &theirs,
        &[
            "m0: name audio",              // lib-jitsi-meet renumbers mids
            "m1: name video",              // (same)
            "m0: address 10.0.0.2 10000",  // [ADDR]
            "m1: address 10.0.0.2 10000",  // [ADDR]
            "m0: maxptime 60", // Jitsi's <description maxptime/>; lib-jitsi-meet drops it
            "session: group BUNDLE m0 m1", // BUNDLE of the contents we write (theirs adds m2–m4)
        ],
        &[
            "m0: name 0",                // lib-jitsi-meet renumbers mids
            "m1: name 1",                // (same)
            "m0: address 0.0.0.0 9",     // [ADDR]
            "m1: address 0.0.0.0 9",     // [ADDR]
            "m0: rtcp 1 IN IP4 0.0.0.0", // [RTCP]
            "m1: rtcp 1 IN IP4 0.0.0.0", // [RTCP]
            "m0: ssrc 3659539811 msid=mixedmslabel mixedlabelaudio0", // from <json-message/>, not read
            "m1: ssrc 1427774514 msid=mixedmslabel mixedlabelvideo0", // from <json-message/>, not read
            "session: a=msid-semantic: WMS *",                        // [MSIDSEM]
            "session: group BUNDLE m0 m1 m2 m3 m4", // includes the JSON-expanded m-lines
        ],
    );
}

// ---- P3–P6: SDP → Jingle against JSON object models -------------------------------------

const P3_SDP: &str = "sdp/stanza-audio-video-chrome-offer.sdp";

/// What we add or keep beyond stanza for the P3 offer, in both its JSON and XML forms.
const P3_OURS_ONLY: &[&str] = &[
    "0: fmtp 110 events=0-15",                 // [TE]
    "0: fmtp 112 events=0-15",                 // [TE]
    "0: fmtp 113 events=0-15",                 // [TE]
    "0: fmtp 126 events=0-15",                 // [TE]
    "1: ssrc 74402439 cname=bKLU9TQ6es9PZkmw", // [SSRC] the RTX SSRC of the FID group
];

/// What stanza says that we do not, for P3.
const P3_THEIRS_ONLY: &[&str] = &[
    "0: description ssrc=3460590050", // [DSSRC]
    "1: description ssrc=1008403138", // [DSSRC]
];

#[test]
fn p03_chrome_offer_against_stanza_json() {
    let ours = ours_from_sdp(P3_SDP, I, Key::Name);
    let theirs = theirs_json("jingle/stanza-audio-video-jingle.json", Key::Name);
    assert_differences(
        "P3 stanza JSON",
        &ours,
        &theirs,
        P3_OURS_ONLY,
        P3_THEIRS_ONLY,
    );
}

/// The XML twin must say exactly what the JSON fixture says (INDEX.md: stanza
/// reproduces the fixture), so the differences are the same lists.
#[test]
fn p03_chrome_offer_against_stanza_xml() {
    let ours = ours_from_sdp(P3_SDP, I, Key::Name);
    let theirs = theirs_xml(
        &corpus("jingle/stanza-generated-from-stanza-audio-video-chrome-offer.xml"),
        Key::Name,
    );
    assert_differences(
        "P3 stanza XML",
        &ours,
        &theirs,
        P3_OURS_ONLY,
        P3_THEIRS_ONLY,
    );
}

/// P4: a data-channel-only offer. We translate RTP only, so there is nothing to
/// send; stanza maps it to an XEP-0343 SCTP transport.
#[test]
fn p04_datachannel_only_offer_against_stanza_json() {
    let err = sdp_to_jingle(&corpus("sdp/stanza-datachannel-offer.sdp"), I).unwrap_err();
    assert!(
        matches!(err, TranslateError::NoUsableMedia { skipped: 1 }),
        "{err:?}"
    );
    let theirs = theirs_json("jingle/stanza-datachannel-jingle.json", Key::Name);
    assert_differences(
        "P4 stanza JSON",
        &Facts::new(),
        &theirs,
        &[],
        &[
            // All of it, because we do not translate data channels (see above):
            "0: application datachannel UDP/DTLS/SCTP", // the m=application line
            "0: sctp port=5000 protocol=webrtc-datachannel", // a=sctp-port
            "0: senders both",                          // the content
            "0: ice-ufrag f1tB",                        // its transport
            "0: ice-pwd 3A/lKtURhKGeqq03DRPQ+nJX",      // its transport
            "0: fingerprint sha-256 36:5A:66:D2:82:88:D6:0E:5C:12:FD:AB:DE:97:67:AF:10:62:BD:1D:91:63:91:51:95:91:5F:95:FA:5A:6C:89", // its transport
            "0: setup actpass",        // its transport
            "session: group BUNDLE 0", // the BUNDLE of that one content
        ],
    );
}

/// P5: otalk sdp-jingle-json's model of a 2013 Chrome offer (SDES and DTLS).
#[test]
fn p05_sdes_dtls_offer_against_otalk_json() {
    let ours = ours_from_sdp("sdp/sdpjinglejson-chrome-offer-sdes-dtls.sdp", I, Key::Name);
    let theirs = theirs_json("jingle/sdpjinglejson-chrome-offer-jingle.json", Key::Name);
    assert_differences(
        "P5 otalk JSON",
        &ours,
        &theirs,
        &[
            "audio: fmtp 126 events=0-15", // [TE]
            // media-level a=msid, which otalk's model has no field for:
            "audio: msid uwwsnlQmzOrjxCsin4Z5lQ5XVpUFHQgUYLgo uwwsnlQmzOrjxCsin4Z5lQ5XVpUFHQgUYLgoa0",
            // (same, video)
            "video: msid uwwsnlQmzOrjxCsin4Z5lQ5XVpUFHQgUYLgo uwwsnlQmzOrjxCsin4Z5lQ5XVpUFHQgUYLgov0",
        ],
        &[
            "audio: description ssrc=445948959", // [DSSRC]
            "video: description ssrc=797563643", // [DSSRC]
        ],
    );
}

/// P6: no a=ssrc, masked candidate addresses ("xx.xx.xxx.xxx" is a syntactically
/// valid host name, kept as written), priority 0: no difference at all.
#[test]
fn p06_no_source_offer_against_otalk_json() {
    let ours = ours_from_sdp("sdp/sdpjinglejson-no-source-offer.sdp", I, Key::Name);
    let theirs = theirs_json("jingle/sdpjinglejson-no-source-jingle.json", Key::Name);
    assert_differences("P6 otalk JSON", &ours, &theirs, &[], &[]);
}

// ---- P7–P9: the XEP examples (SPEC pairs) ---------------------------------------------------

/// P7, XEP-0293 §4. The SDP has no a=mid, so we name the contents after their
/// media while the XEP names them voice/face: keyed by order.
#[test]
fn p07_xep0293_rtcp_fb_example() {
    let ours = ours_from_sdp("sdp/xep0293-rtcp-fb-sdp-fragment.sdp", I, Key::Order);
    // Our reader takes the <jingle/> whose start tag the XEP closes early
    // (action/sid become text); no patch needed.
    let theirs = theirs_xml(
        &corpus("jingle/xep0293-rtcp-fb-same-description-xmpp.xml"),
        Key::Order,
    );
    assert_differences(
        "P7 XEP-0293",
        &ours,
        &theirs,
        &[
            "m0: name audio",        // no a=mid: XEP-0166 needs a name, we use the media type
            "m1: name video",        // (same)
            "m0: codec 0 PCMU/8000", // the XML example omits clockrate (static PT 0 implies it)
            "m1: codec 98 H263-1998/90000", // the XML example omits clockrate
            "m1: codec 99 H261/90000", // the XEP is inconsistent: PT 99 is H261 in SDP, H264 in XML
            "m1: raw-candidate 1 10.0.1.1 59172", // the XEP is inconsistent: port 59172 in SDP, 49172 in XML
        ],
        &[
            "m0: name voice",                     // the XEP's names
            "m1: name face",                      // (same)
            "m0: codec 0 PCMU",                   // no clockrate in the XML
            "m1: codec 98 H263-1998",             // no clockrate in the XML
            "m1: codec 99 H264",                  // see H261 above
            "m1: raw-candidate 1 10.0.1.1 49172", // see 59172 above
            // RTCP on port+1 is implicit in SDP without a=rtcp (RFC 3550 §11); we do
            // not invent component-2 candidates for it.
            "m0: raw-candidate 2 10.0.1.1 49171",
            "m1: raw-candidate 2 10.0.1.1 49173", // (same)
        ],
    );
}

/// P8, XEP-0294: the SDP side is RFC 8285 §7's fragment, whose "m=video" has no
/// port, proto or format and is rejected by our parser. Patched to
/// "m=video 9 RTP/AVP 34" (a static PT, so no rtpmap is needed).
#[test]
fn p08_xep0294_hdrext_example() {
    let fragment = corpus("sdp/xep0294-rtp-hdrext-sdp-fragment.sdp");
    assert!(matches!(
        sdp_to_jingle(&fragment, I),
        Err(TranslateError::SdpSyntax { .. })
    ));
    let patched = fragment.replacen("m=video\n", "m=video 9 RTP/AVP 34\n", 1);
    let ours = ours_from_sdp_text(&patched, I, Key::Name);
    let theirs = theirs_xml(
        &corpus("jingle/xep0294-rtp-hdrext-same-description-xmpp.xml"),
        Key::Name,
    );
    assert_differences(
        "P8 XEP-0294",
        &ours,
        &theirs,
        &[
            "video: codec 34 H263/90000", // our patch's format; the XML has no payload-type
            "video: raw-candidate 1 0.0.0.0 9", // our patch's port; the XML is a bare <description/>
            // RFC 8285 §7 is an offer: recvonly in the initiator's SDP means only the
            // responder sends (mapping digest §3 table)…
            "video: extmap 2 URI-gps-string senders=responder",
        ],
        &[
            // …while the XEP example reads it as the responder's SDP.
            "video: extmap 2 URI-gps-string senders=initiator",
        ],
    );
}

/// P9, XEP-0339 §3. No a=mid in the SDP fragment: keyed by order.
#[test]
fn p09_xep0339_ssrc_group_example() {
    let ours = ours_from_sdp("sdp/xep0339-ssrc-group-fid-sdp.sdp", I, Key::Order);
    // The <content/> is in the pre-2009 namespace; our reader accepts it as is.
    let theirs = theirs_xml(
        &corpus("jingle/xep0339-ssrc-group-fid-content.xml"),
        Key::Order,
    );
    assert_differences(
        "P9 XEP-0339",
        &ours,
        &theirs,
        &[
            "m0: name video",                // no a=mid: named after the media
            "m0: codec 116 ?", // on the SDP m= line without rtpmap; the XML lists only PT 100
            "m0: codec 117 ?", // (same)
            "m0: raw-candidate 1 0.0.0.0 1", // we always give a transport: m= port 1, no c= line
        ],
        &[
            "m0: name webcam", // the XEP's name
        ],
    );
}

// ---- P10–P14: SDP → Jingle against stanza's XML ----------------------------------------------

#[test]
fn p10_firefox_offer_against_stanza() {
    let ours = ours_from_sdp("sdp/aiortc-firefox58-offer-audio.sdp", I, Key::Name);
    let theirs = theirs_xml(
        &corpus("jingle/stanza-generated-from-firefox58-offer-audio.xml"),
        Key::Name,
    );
    assert_differences(
        "P10 stanza",
        &ours,
        &theirs,
        &[
            "sdparta_0: end-of-candidates",    // [EOC]
            "sdparta_0: fmtp 101 events=0-15", // [TE] (stanza: <parameter name='0-15'/>)
        ],
        &[
            "sdparta_0: description ssrc=882128807", // [DSSRC]
            "sdparta_0: fmtp 101 0-15",              // [TE] stanza's nameless dialect
        ],
    );
}

#[test]
fn p11_safari_offer_against_stanza() {
    let ours = ours_from_sdp("sdp/aiortc-safari-offer-audio-video-data.sdp", I, Key::Name);
    let mut theirs = theirs_xml(
        &corpus("jingle/stanza-generated-from-safari-offer-audio-video-data.xml"),
        Key::Name,
    );
    drop_data_channel(&mut theirs, "data");
    assert_differences(
        "P11 stanza",
        &ours,
        &theirs,
        &[
            "audio: fmtp 110 events=0-15", // [TE]
            "audio: fmtp 113 events=0-15", // [TE]
            "audio: fmtp 126 events=0-15", // [TE]
            "audio: ssrc 205815247 label=f473166a-7fe5-4ab6-a3af-c5eb806a13b9", // [SSRC]
            "audio: ssrc 205815247 msid=cb7e185b-6110-4f65-b027-ddb8b5fa78c7 f473166a-7fe5-4ab6-a3af-c5eb806a13b9", // [SSRC]
            "audio: ssrc 205815247 mslabel=cb7e185b-6110-4f65-b027-ddb8b5fa78c7", // [SSRC]
            "video: ssrc 11942296 label=bd201f69-1364-40da-828f-cc695ff54a37",    // [SSRC]
            "video: ssrc 11942296 msid=cb7e185b-6110-4f65-b027-ddb8b5fa78c7 bd201f69-1364-40da-828f-cc695ff54a37", // [SSRC]
            "video: ssrc 11942296 mslabel=cb7e185b-6110-4f65-b027-ddb8b5fa78c7", // [SSRC]
            "video: ssrc 149700150 cname=JTNiIZ6eJ7ghkHaB", // [SSRC] the RTX SSRC
            "video: ssrc 149700150 label=bd201f69-1364-40da-828f-cc695ff54a37", // [SSRC]
            "video: ssrc 149700150 msid=cb7e185b-6110-4f65-b027-ddb8b5fa78c7 bd201f69-1364-40da-828f-cc695ff54a37", // [SSRC]
            "video: ssrc 149700150 mslabel=cb7e185b-6110-4f65-b027-ddb8b5fa78c7", // [SSRC]
            "session: group BUNDLE audio video", // the data channel is left out of BUNDLE too
        ],
        &[
            "audio: description ssrc=205815247", // [DSSRC]
            "video: description ssrc=11942296",  // [DSSRC]
            "audio: msid cb7e185b-6110-4f65-b027-ddb8b5fa78c7 f473166a-7fe5-4ab6-a3af-c5eb806a13b9", // [STREAM]
            "video: msid cb7e185b-6110-4f65-b027-ddb8b5fa78c7 bd201f69-1364-40da-828f-cc695ff54a37", // [STREAM]
            "session: group BUNDLE audio video data", // with the data channel
        ],
    );
}

/// P12: a FreeSWITCH answer, so a session-accept (the SDP's writer is the
/// responder). stanza's `<content/>` has no name (the SDP has no a=mid), which
/// XEP-0166 forbids and our parser rejects: patched to `name="audio"`, the name
/// we generate.
#[test]
fn p12_freeswitch_answer_against_stanza() {
    let xml = corpus("jingle/stanza-generated-from-freeswitch-dtls-answer-no-mid.xml");
    assert!(matches!(
        parse_jingle(&xml),
        Err(stox::jingle::ParseError::MissingAttribute {
            attribute: "name",
            ..
        })
    ));
    let patched = xml.replacen("<content ", "<content name=\"audio\" ", 1);
    let ours = ours_from_sdp(
        "sdp/aiortc-freeswitch-dtls-answer-audio.sdp",
        Role::Responder,
        Key::Name,
    );
    let theirs = theirs_xml(&patched, Key::Name);
    assert_differences(
        "P12 stanza",
        &ours,
        &theirs,
        &[
            "audio: end-of-candidates",                                        // [EOC]
            "audio: fmtp 101 events=0-15",                                     // [TE]
            "audio: ptime 101 20",                                             // [PTIME]
            "audio: ptime 8 20",                                               // [PTIME]
            "audio: ssrc 2690029308 label=lyNSTe6w2ijnMrDEiqTHFyhqjdAag3ysa0", // [SSRC]
            "audio: ssrc 2690029308 msid=lyNSTe6w2ijnMrDEiqTHFyhqjdAag3ys a0", // [SSRC]
            "audio: ssrc 2690029308 mslabel=lyNSTe6w2ijnMrDEiqTHFyhqjdAag3ys", // [SSRC]
        ],
        &[
            "audio: description ssrc=2690029308",              // [DSSRC]
            "audio: msid lyNSTe6w2ijnMrDEiqTHFyhqjdAag3ys a0", // [STREAM]
        ],
    );
}

/// P13: Unified-Plan Chrome with simulcast; stanza keeps one FID group and
/// loses the SIM group (INDEX.md), we keep all of them.
#[test]
fn p13_chrome_simulcast_offer_against_stanza() {
    let ours = ours_from_sdp(
        "sdp/jitsi-libjitsimeet-chrome-unified-plan-simulcast-datachannel.sdp",
        I,
        Key::Name,
    );
    let mut theirs = theirs_xml(
        &corpus("jingle/stanza-generated-from-chrome-unified-plan-simulcast.xml"),
        Key::Name,
    );
    drop_data_channel(&mut theirs, "2");
    assert_differences(
        "P13 stanza",
        &ours,
        &theirs,
        &[
            "0: extmap-allow-mixed",                                          // [MIXED]
            "1: extmap-allow-mixed",                                          // [MIXED]
            "0: fmtp 126 events=0-15",                                        // [TE]
            "1: ssrc-group SIM 691901703 4098097822 731566086", // stanza loses simulcast
            "1: ssrc-group FID 4098097822 2374965413", // stanza keeps only the first FID group
            "1: ssrc-group FID 731566086 3680614139",  // (same)
            "1: ssrc 691901703 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "1: ssrc 2374965413 cname=Ypjacq/wapOqDJKy", // [SSRC] simulcast/RTX SSRCs
            "1: ssrc 2374965413 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "1: ssrc 3680614139 cname=Ypjacq/wapOqDJKy", // [SSRC]
            "1: ssrc 3680614139 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "1: ssrc 3967743536 cname=Ypjacq/wapOqDJKy", // [SSRC]
            "1: ssrc 3967743536 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "1: ssrc 4098097822 cname=Ypjacq/wapOqDJKy", // [SSRC]
            "1: ssrc 4098097822 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "1: ssrc 731566086 cname=Ypjacq/wapOqDJKy", // [SSRC]
            "1: ssrc 731566086 msid=- 84615c77-2441-4d1f-801d-591a4bc1beaa", // [SSRC]
            "session: group BUNDLE 0 1",               // the data channel is left out of BUNDLE too
        ],
        &[
            "0: description ssrc=3134174615", // [DSSRC]
            "1: description ssrc=691901703",  // [DSSRC]
            // Chrome's "a=fmtp:107 ;level-asymmetry-allowed=1;…" starts with an empty
            // piece; stanza keeps it as an empty <parameter/>, we drop it.
            "1: fmtp 107 (empty)",
            "session: group BUNDLE 0 1 2", // with the data channel
        ],
    );
}

/// P14: JsSIP's Chrome offer with SDES and DTLS; stanza silently drops the SDES
/// keys (INDEX.md), we keep them in `<encryption/>`.
#[test]
fn p14_jssip_sdes_dtls_offer_against_stanza() {
    let ours = ours_from_sdp("sdp/sdptransform-jssip-chrome-offer.sdp", I, Key::Name);
    let theirs = theirs_xml(
        &corpus("jingle/stanza-generated-from-jssip-chrome-offer-sdes-dtls.xml"),
        Key::Name,
    );
    assert_differences(
        "P14 stanza",
        &ours,
        &theirs,
        &[
            "audio: crypto 0 AES_CM_128_HMAC_SHA1_32 inline:6JYKxLF+o2nhouDHr5J0oNb3CEGK3I/HHv9idGTY", // stanza drops SDES
            "audio: crypto 1 AES_CM_128_HMAC_SHA1_80 inline:ayId2M5kCitGTEEI9OjgEqatTA0IXGpQhFjmKOGk", // stanza drops SDES
            "audio: fmtp 126 events=0-15", // [TE]
            "audio: maxptime 0 60",        // [PTIME] a=maxptime:60, on each payload-type
            "audio: maxptime 103 60",      // [PTIME]
            "audio: maxptime 104 60",      // [PTIME]
            "audio: maxptime 105 60",      // [PTIME]
            "audio: maxptime 106 60",      // [PTIME]
            "audio: maxptime 111 60",      // [PTIME]
            "audio: maxptime 126 60",      // [PTIME]
            "audio: maxptime 13 60",       // [PTIME]
            "audio: maxptime 8 60",        // [PTIME]
            "audio: ssrc 1399694169 label=775dca64-4698-455b-8a02-89833bd24773", // [SSRC]
            "audio: ssrc 1399694169 msid=KOaPIn6F0Qm9PuOA6WHfjdfqWMt9sGl6uOqg 775dca64-4698-455b-8a02-89833bd24773", // [SSRC]
            "audio: ssrc 1399694169 mslabel=KOaPIn6F0Qm9PuOA6WHfjdfqWMt9sGl6uOqg", // [SSRC]
        ],
        &[
            "audio: description ssrc=1399694169", // [DSSRC]
            "audio: msid KOaPIn6F0Qm9PuOA6WHfjdfqWMt9sGl6uOqg 775dca64-4698-455b-8a02-89833bd24773", // [STREAM]
        ],
    );
}

// ---- P15–P17: Jingle → SDP against stanza's SDP ----------------------------------------------

#[test]
fn p15_chrome_session_initiate_against_stanza() {
    let ours = ours_from_jingle(
        "jingle/stanza-xep0167-session-initiate-chrome.xml",
        I,
        Key::Name,
    );
    let theirs = theirs_sdp(
        &corpus("sdp/stanza-generated-from-xep0167-session-initiate-chrome.sdp"),
        I,
        Key::Name,
    );
    assert_differences(
        "P15 stanza",
        &ours,
        &theirs,
        &[
            // [SSRC] we write every <source/> parameter back as a=ssrc; stanza writes
            // the msid parameter only as the media-level a=msid
            "audio: ssrc 2992613145 msid=cWrPgpLVJL3XXIO7G6VFF4fA7z3S64H8D6fW dae627ee-57a4-40ff-80fe-a3ba8098b785",
            "video: ssrc 1145569248 msid=cWrPgpLVJL3XXIO7G6VFF4fA7z3S64H8D6fW 1b129928-a237-4490-8331-17e1a327b52b", // (same)
            "video: ssrc 3883348418 msid=cWrPgpLVJL3XXIO7G6VFF4fA7z3S64H8D6fW 1b129928-a237-4490-8331-17e1a327b52b", // (same)
        ],
        &[
            "audio: rtcp 9 IN IP4 0.0.0.0",   // [RTCP]
            "video: rtcp 9 IN IP4 0.0.0.0",   // [RTCP]
            "session: a=msid-semantic:WMS *", // [MSIDSEM]
        ],
    );
}

/// Joins the continuation lines of stanza's defective a=fingerprint (the padded
/// XEP-0320 text spans three physical lines) back onto it: the smallest patch
/// that makes the attribute comparable.
fn join_continuation_lines(sdp: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in sdp.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        let is_sdp_line = line.len() >= 2 && line.as_bytes()[1] == b'=';
        match out.last_mut() {
            Some(prev) if !is_sdp_line => {
                prev.push(' ');
                prev.push_str(line);
            }
            _ => out.push(line.to_string()),
        }
    }
    out.join("\r\n")
}

/// P16: XEP-0320's offer, whose fingerprint text is padded with whitespace.
#[test]
fn p16_dtls_fingerprint_offer_against_stanza() {
    let ours = ours_from_jingle(
        "jingle/xep0320-session-initiate-dtls-fingerprint.xml",
        I,
        Key::Name,
    );
    let stanza = join_continuation_lines(&corpus(
        "torture/stanza-generated-from-xep0320-fingerprint-with-whitespace.sdp",
    ));
    let theirs = theirs_sdp(&stanza, I, Key::Name);
    assert_differences(
        "P16 stanza",
        &ours,
        &theirs,
        &[
            "voice: address 192.0.2.3 45664", // [ADDR]
            "voice: codec 18 G729/8000",      // static PT 18: the clock rate is known (RFC 3551)
        ],
        &[
            "voice: address 0.0.0.0 9",       // [ADDR]
            "voice: codec 18 G729/undefined", // stanza bug: no clockrate in the XML
            "voice: rtcp 9 IN IP4 0.0.0.0",   // [RTCP]
            "session: a=msid-semantic:WMS *", // [MSIDSEM]
        ],
    );
}

/// P17: XEP-0167's plain offer (no DTLS, static PTs without clockrate).
#[test]
fn p17_plain_ice_offer_against_stanza() {
    let ours = ours_from_jingle(
        "jingle/xep0167-session-initiate-audio-ice.xml",
        I,
        Key::Name,
    );
    let theirs = theirs_sdp(
        &corpus("torture/stanza-generated-from-xep0167-initiation-port0-undefined-clockrate.sdp"),
        I,
        Key::Name,
    );
    assert_differences(
        "P17 stanza",
        &ours,
        &theirs,
        &[
            "voice: address 192.0.2.3 45664", // [ADDR]
            "voice: codec 0 PCMU/8000",       // static PTs: the clock rate is known (RFC 3551)
            "voice: codec 18 G729/8000",      // (same)
            "voice: proto RTP/AVP",           // no fingerprint, no SDES: plain RTP (XEP-0167)
        ],
        &[
            "voice: address 0.0.0.0 0", // stanza bug: port 0 means a rejected stream (RFC 3264 §6)
            "voice: codec 0 PCMU/undefined", // stanza bug: no clockrate in the XML
            "voice: codec 18 G729/undefined", // (same)
            "voice: proto UDP/TLS/RTP/SAVPF", // stanza bug: DTLS profile without a fingerprint
            "voice: rtcp 9 IN IP4 0.0.0.0", // [RTCP]
            "session: a=msid-semantic:WMS *", // [MSIDSEM]
        ],
    );
}

// ---- P18: one real SIP offer/answer ---------------------------------------------------------

/// P18: PhonerLite's offer and LiveKit's (buggy) answer. LiveKit lists PCMU (0)
/// on its m= line but writes an rtpmap for G722 (9), which it does not list.
/// The m= line is authoritative: the answer is PCMU (static, no rtpmap needed)
/// plus telephone-event, a subset of the offer, and the stray rtpmap is reported.
#[test]
fn p18_phonerlite_offer_and_livekit_answer_are_coherent() {
    let offer = sdp_to_jingle(
        &corpus("sdp/phonerlite-3.24-offer-ssrc-without-attribute.sdp"),
        I,
    )
    .unwrap();
    let answer = sdp_to_jingle(
        &corpus("sdp/livekit-sip-answer-rtpmap-for-unlisted-pt.sdp"),
        Role::Responder,
    )
    .unwrap();
    let payloads = |j: &stox::jingle::Jingle| -> Vec<(u8, String)> {
        j.contents
            .iter()
            .filter_map(|c| match &c.description {
                Some(Description::Rtp(d)) => Some(d),
                _ => None,
            })
            .flat_map(|d| &d.payload_types)
            .map(|p| {
                (
                    p.id,
                    format!(
                        "{}/{}",
                        p.name.as_deref().unwrap_or("?"),
                        p.clockrate.unwrap_or(0)
                    ),
                )
            })
            .collect()
    };
    let offered = payloads(&offer.value);
    let answered = payloads(&answer.value);
    assert_eq!(
        answered,
        [
            (0, "PCMU/8000".to_string()),
            (101, "telephone-event/8000".to_string())
        ]
    );
    for p in &answered {
        assert!(
            offered.contains(p),
            "answer payload {p:?} was not offered: {offered:?}"
        );
    }
    assert!(
        !answered.iter().any(|(id, _)| *id == 9),
        "G722 is not on the answer's m= line"
    );
    let stray = answer
        .warnings
        .iter()
        .map(ToString::to_string)
        .find(|w| w.contains("a=rtpmap:9 G722/8000"));
    assert!(
        stray.is_some(),
        "the rtpmap for the unlisted PT 9 is not reported: {:?}",
        answer.warnings
    );
    // Same content, both ways sendrecv.
    assert_eq!(offer.value.contents.len(), 1);
    assert_eq!(answer.value.contents.len(), 1);
    assert_eq!(offer.value.contents[0].name, answer.value.contents[0].name);
}
