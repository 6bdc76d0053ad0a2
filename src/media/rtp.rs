//! What arrives on a media port, and the few RTP/RTCP header fields the relay
//! needs to read or rewrite.
//!
//! One UDP port carries STUN (ICE checks), DTLS (the key exchange) and SRTP /
//! SRTCP (rtcp-mux) toward a WebRTC client, so every datagram is first
//! classified by its first byte ([RFC 7983] §7) and, for RTP-range bytes, by
//! the RTCP packet type in its second byte ([RFC 5761] §4). The relay never
//! decodes media: it forwards payloads and rewrites the payload type between
//! the two legs' negotiated maps, so a header view (not a full RTP model) is
//! all that lives here.
//!
//! Everything takes untrusted bytes straight off a socket, so nothing here
//! indexes without checking the length first, and nothing panics.
//!
//! [RFC 7983]: https://www.rfc-editor.org/rfc/rfc7983
//! [RFC 5761]: https://www.rfc-editor.org/rfc/rfc5761

/// The STUN magic cookie (RFC 5389 §6), which tells STUN from the legacy
/// RFC 3489 format and from stray bytes that merely start with 0..=3.
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Fixed RTP header: V/P/X/CC, M/PT, sequence, timestamp, SSRC (RFC 3550 §5.1).
const RTP_FIXED_HEADER_LEN: usize = 12;

/// RTCP header plus the sender SSRC: V/P/RC, PT, length, SSRC (RFC 3550 §6.4).
const RTCP_MIN_LEN: usize = 8;

/// STUN message header (RFC 5389 §6).
const STUN_HEADER_LEN: usize = 20;

/// DTLS record header: type, version, epoch, sequence number, length (RFC 6347 §4.1).
const DTLS_RECORD_HEADER_LEN: usize = 13;

/// What a datagram on a media port is (RFC 7983 first-byte demultiplexing;
/// RFC 5761 for RTP vs RTCP under rtcp-mux).
///
/// A datagram too short to hold its kind's fixed header is [`PacketKind::Other`],
/// so a caller that matches on the kind can rely on the header being there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// A STUN message (ICE connectivity check or its response).
    Stun,
    /// A DTLS record (the DTLS-SRTP handshake or an alert).
    Dtls,
    /// An RTP or SRTP packet.
    Rtp,
    /// An RTCP or SRTCP packet (multiplexed on the RTP port).
    Rtcp,
    /// Anything else (ZRTP, TURN channel data, garbage): dropped by the relay.
    Other,
}

/// Classifies one datagram received on a media port.
///
/// STUN: first byte 0..=3, at least a header, and the magic cookie; DTLS:
/// first byte 20..=63 and at least a record header; 128..=191: RTCP when the
/// second byte is 192..=223 (RFC 5761 §4: those are the RTCP packet types,
/// which RTP payload types must avoid under rtcp-mux), else RTP.
pub fn classify(buf: &[u8]) -> PacketKind {
    let Some(&first) = buf.first() else {
        return PacketKind::Other;
    };
    match first {
        0..=3 if buf.len() >= STUN_HEADER_LEN && buf[4..8] == STUN_MAGIC_COOKIE => PacketKind::Stun,
        20..=63 if buf.len() >= DTLS_RECORD_HEADER_LEN => PacketKind::Dtls,
        128..=191 => match buf.get(1) {
            Some(192..=223) if buf.len() >= RTCP_MIN_LEN => PacketKind::Rtcp,
            Some(192..=223) => PacketKind::Other,
            Some(_) if buf.len() >= RTP_FIXED_HEADER_LEN => PacketKind::Rtp,
            _ => PacketKind::Other,
        },
        _ => PacketKind::Other,
    }
}

/// The fields of an RTP header (RFC 3550 §5.1) the relay reads.
///
/// Also valid for an SRTP packet: SRTP leaves the header in the clear
/// (RFC 3711 §3.1), so the relay can route and rewrite it before or after
/// the crypto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// The marker bit (start of a talkspurt for audio, end of a frame for video).
    pub marker: bool,
    /// The 7-bit payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The media timestamp.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// Bytes before the payload: the fixed header, the CSRC list and the
    /// header extension (its 4-byte header and its body).
    pub header_len: usize,
    /// The padding bit. The padding count (the last byte) is not checked: in
    /// an SRTP packet the last byte belongs to the authentication tag, and
    /// the padding sits inside the encrypted payload.
    pub padding: bool,
}

/// Parses an RTP (or SRTP) header.
///
/// `None` for anything that is not a well-formed version 2 header whose CSRC
/// list and extension fit in `buf`. Never panics.
pub fn parse_rtp(buf: &[u8]) -> Option<RtpHeader> {
    if buf.len() < RTP_FIXED_HEADER_LEN || buf[0] >> 6 != 2 {
        return None;
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0f);
    let mut header_len = RTP_FIXED_HEADER_LEN + 4 * csrc_count;
    if extension {
        // 16-bit profile, then the body length in 32-bit words (RFC 3550 §5.3.1).
        let words = buf.get(header_len + 2..header_len + 4)?;
        let body_words = usize::from(u16::from_be_bytes([words[0], words[1]]));
        header_len += 4 + 4 * body_words;
    }
    if header_len > buf.len() {
        return None;
    }
    Some(RtpHeader {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7f,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        header_len,
        padding,
    })
}

/// Rewrites the payload type in place (the relay's per-leg PT mapping),
/// keeping the marker bit. Only the low 7 bits of `pt` are used. A no-op
/// on a buffer too short to hold the byte.
///
/// The payload type is authenticated by SRTP, so this is done on plain RTP:
/// after unprotecting on one leg and before protecting on the other.
pub fn set_payload_type(buf: &mut [u8], pt: u8) {
    if let Some(byte) = buf.get_mut(1) {
        *byte = (*byte & 0x80) | (pt & 0x7f);
    }
}

/// The sender SSRC of the first packet of an RTCP (or SRTCP) compound
/// packet: bytes 4..8, when the first header is valid — version 2, an RTCP
/// packet type (192..=223, RFC 5761 §4) and a length word that covers the
/// SSRC and fits in `buf`.
///
/// The length is checked against `buf` with `<=`, not `==`, because an SRTCP
/// packet carries its index and tag after the compound, and a compound
/// packet carries further packets.
pub fn rtcp_sender_ssrc(buf: &[u8]) -> Option<u32> {
    if buf.len() < RTCP_MIN_LEN || buf[0] >> 6 != 2 || !(192..=223).contains(&buf[1]) {
        return None;
    }
    // The length field counts 32-bit words minus one (RFC 3550 §6.4.1).
    let words = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if words == 0 || (words + 1) * 4 > buf.len() {
        return None;
    }
    Some(u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An Opus packet as Chrome sends it: PT 111, marker, one-byte header
    /// extension (RFC 8285, profile 0xBEDE) with 2 words (audio level, mid).
    const CHROME_OPUS: [u8; 28] = [
        0x90, 0xef, 0x1a, 0x2b, // V=2, X=1, M=1 PT=111, seq 0x1a2b
        0x00, 0x01, 0xe2, 0x40, // timestamp 123456
        0xde, 0xad, 0xbe, 0xef, // SSRC
        0xbe, 0xde, 0x00, 0x02, // extension header: 2 words
        0x10, 0xff, 0x31, 0x30, // ssrc-audio-level, mid "0"...
        0x00, 0x00, 0x00, 0x00, //
        0xfc, 0xff, 0xfe, 0x01, // Opus payload (TOC + frame)
    ];

    /// A PCMU packet from a SIP phone: no extension, 2 CSRCs (a mixer).
    const MIXED_PCMU: [u8; 24] = [
        0x82, 0x00, 0x00, 0x07, // V=2, CC=2, PT=0, seq 7
        0x00, 0x00, 0x03, 0xc0, // timestamp 960
        0x01, 0x02, 0x03, 0x04, // SSRC
        0x00, 0x00, 0x00, 0x0a, // CSRC 1
        0x00, 0x00, 0x00, 0x0b, // CSRC 2
        0xff, 0xff, 0x7f, 0x7e, // payload
    ];

    /// A receiver report (PT 201) with no report blocks, sender SSRC 0x11223344.
    const RTCP_RR: [u8; 8] = [0x80, 0xc9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44];

    /// A STUN Binding request header (RFC 5769 §2.1's first 20 bytes).
    const STUN_HEADER: [u8; 20] = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
        0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    /// A DTLS 1.2 ClientHello record header (content type 22, version 0xfefd).
    const DTLS_HELLO: [u8; 13] = [
        0x16, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c,
    ];

    #[test]
    fn classifies_each_kind() {
        assert_eq!(classify(&STUN_HEADER), PacketKind::Stun);
        assert_eq!(classify(&DTLS_HELLO), PacketKind::Dtls);
        assert_eq!(classify(&CHROME_OPUS), PacketKind::Rtp);
        assert_eq!(classify(&MIXED_PCMU), PacketKind::Rtp);
        assert_eq!(classify(&RTCP_RR), PacketKind::Rtcp);
        assert_eq!(classify(&[]), PacketKind::Other);
        assert_eq!(classify(&[0x40; 20]), PacketKind::Other); // ZRTP-ish / unassigned
        assert_eq!(classify(&[0xff; 20]), PacketKind::Other);
    }

    #[test]
    fn stun_needs_the_magic_cookie() {
        let mut legacy = STUN_HEADER;
        legacy[4] = 0x00;
        assert_eq!(classify(&legacy), PacketKind::Other);
        assert_eq!(classify(&STUN_HEADER[..19]), PacketKind::Other);
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_the_second_byte() {
        // PT 72..=76 with the marker set is 200..=204 on the wire: RTCP.
        for second in [192u8, 200, 201, 205, 206, 223] {
            let mut packet = RTCP_RR;
            packet[1] = second;
            assert_eq!(classify(&packet), PacketKind::Rtcp, "{second}");
        }
        // Marker + PT 96 (224) and PT 63 + marker (191) are RTP.
        for second in [0u8, 96, 111, 127, 128, 191, 224, 239] {
            let mut packet = MIXED_PCMU;
            packet[1] = second;
            assert_eq!(classify(&packet), PacketKind::Rtp, "{second}");
        }
    }

    #[test]
    fn truncated_headers_are_other() {
        assert_eq!(classify(&CHROME_OPUS[..11]), PacketKind::Other);
        assert_eq!(classify(&RTCP_RR[..7]), PacketKind::Other);
        assert_eq!(classify(&DTLS_HELLO[..12]), PacketKind::Other);
        assert_eq!(classify(&[0x80]), PacketKind::Other);
    }

    #[test]
    fn parses_a_header_with_an_extension() {
        let header = parse_rtp(&CHROME_OPUS).unwrap();
        assert_eq!(
            header,
            RtpHeader {
                marker: true,
                payload_type: 111,
                sequence: 0x1a2b,
                timestamp: 123_456,
                ssrc: 0xdead_beef,
                header_len: 24,
                padding: false,
            }
        );
        assert_eq!(&CHROME_OPUS[header.header_len..], &[0xfc, 0xff, 0xfe, 0x01]);
    }

    #[test]
    fn parses_a_header_with_csrcs() {
        let header = parse_rtp(&MIXED_PCMU).unwrap();
        assert!(!header.marker);
        assert_eq!(header.payload_type, 0);
        assert_eq!(header.sequence, 7);
        assert_eq!(header.timestamp, 960);
        assert_eq!(header.ssrc, 0x0102_0304);
        assert_eq!(header.header_len, 20);
    }

    #[test]
    fn reads_the_padding_bit() {
        let mut packet = MIXED_PCMU;
        packet[0] |= 0x20;
        assert!(parse_rtp(&packet).unwrap().padding);
    }

    #[test]
    fn refuses_malformed_headers() {
        // Wrong version.
        let mut v1 = MIXED_PCMU;
        v1[0] = (v1[0] & 0x3f) | 0x40;
        assert_eq!(parse_rtp(&v1), None);
        // CSRC list longer than the packet.
        let mut many_csrcs = MIXED_PCMU;
        many_csrcs[0] |= 0x0f;
        assert_eq!(parse_rtp(&many_csrcs), None);
        // Extension body longer than the packet.
        let mut long_ext = CHROME_OPUS;
        long_ext[15] = 0x05;
        assert_eq!(parse_rtp(&long_ext), None);
        // Extension bit set, but no room for the extension header.
        let mut no_ext_header = [0u8; 14];
        no_ext_header[0] = 0x90;
        assert_eq!(parse_rtp(&no_ext_header), None);
        assert_eq!(parse_rtp(&MIXED_PCMU[..11]), None);
    }

    #[test]
    fn an_extension_that_ends_the_packet_exactly_is_valid() {
        let header = parse_rtp(&CHROME_OPUS[..24]).unwrap();
        assert_eq!(header.header_len, 24);
    }

    #[test]
    fn set_payload_type_keeps_the_marker() {
        let mut packet = CHROME_OPUS;
        set_payload_type(&mut packet, 96);
        let header = parse_rtp(&packet).unwrap();
        assert_eq!(header.payload_type, 96);
        assert!(header.marker);

        let mut packet = MIXED_PCMU;
        set_payload_type(&mut packet, 0xff); // only 7 bits are a PT
        assert_eq!(packet[1], 0x7f);
        assert_eq!(packet[0], MIXED_PCMU[0]);
        assert_eq!(packet[2..], MIXED_PCMU[2..]);

        let mut short = [0x80u8];
        set_payload_type(&mut short, 8);
        assert_eq!(short, [0x80]);
    }

    #[test]
    fn reads_the_rtcp_sender_ssrc() {
        assert_eq!(rtcp_sender_ssrc(&RTCP_RR), Some(0x1122_3344));
        // A sender report followed by an SRTCP trailer: still the first SSRC.
        let mut srtcp = vec![0x80, 0xc8, 0x00, 0x06, 0xca, 0xfe, 0xba, 0xbe];
        srtcp.extend_from_slice(&[0u8; 20]); // NTP, RTP ts, counts
        srtcp.extend_from_slice(&[0x80, 0x00, 0x00, 0x01]); // E + index
        srtcp.extend_from_slice(&[0xaa; 10]); // tag
        assert_eq!(rtcp_sender_ssrc(&srtcp), Some(0xcafe_babe));
    }

    #[test]
    fn refuses_invalid_rtcp_headers() {
        let mut rtp_pt = RTCP_RR;
        rtp_pt[1] = 0x60;
        assert_eq!(rtcp_sender_ssrc(&rtp_pt), None);
        let mut bad_version = RTCP_RR;
        bad_version[0] = 0x40;
        assert_eq!(rtcp_sender_ssrc(&bad_version), None);
        let mut zero_len = RTCP_RR;
        zero_len[3] = 0;
        assert_eq!(rtcp_sender_ssrc(&zero_len), None);
        let mut too_long = RTCP_RR;
        too_long[3] = 2;
        assert_eq!(rtcp_sender_ssrc(&too_long), None);
        assert_eq!(rtcp_sender_ssrc(&RTCP_RR[..7]), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let kind = classify(&bytes);
            let header = parse_rtp(&bytes);
            if let Some(h) = header {
                prop_assert!(h.header_len <= bytes.len());
                prop_assert!(h.payload_type < 128);
            }
            if rtcp_sender_ssrc(&bytes).is_some() {
                prop_assert_eq!(kind, PacketKind::Rtcp);
            }
            let mut copy = bytes.clone();
            set_payload_type(&mut copy, 0x55);
            prop_assert_eq!(copy.len(), bytes.len());
        }

        #[test]
        fn set_payload_type_round_trips(
            mut bytes in proptest::collection::vec(any::<u8>(), 12..64),
            pt in 0u8..128,
        ) {
            bytes[0] = 0x80;
            let marker = bytes[1] & 0x80 != 0;
            set_payload_type(&mut bytes, pt);
            let header = parse_rtp(&bytes).unwrap();
            prop_assert_eq!(header.payload_type, pt);
            prop_assert_eq!(header.marker, marker);
        }
    }
}
