//! SRTP for the relay: the keys (SDES `a=crypto` toward SIP, DTLS-SRTP
//! exporter output toward WebRTC) and one direction's crypto context.
//!
//! The packet crypto is `rtc-srtp` ([RFC 3711], [RFC 7714]), a sans-IO crate
//! of the webrtc-rs family running on ring (the provider our rustls already
//! uses). What is ours is the key handling around it: reading and writing
//! [RFC 4568] crypto attributes, splitting [RFC 5764] keying material by DTLS
//! role, and mapping the crate's errors to the few outcomes the relay acts on
//! (drop as forged or replayed, or drop as broken).
//!
//! Each [`SrtpContext`] is one direction of one leg — inbound contexts check
//! replays, outbound ones only encrypt — so a relayed call holds up to four.
//!
//! [RFC 3711]: https://www.rfc-editor.org/rfc/rfc3711
//! [RFC 7714]: https://www.rfc-editor.org/rfc/rfc7714
//! [RFC 4568]: https://www.rfc-editor.org/rfc/rfc4568
//! [RFC 5764]: https://www.rfc-editor.org/rfc/rfc5764

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use rtc_shared::error::Error as RtcError;
use rtc_srtp::context::Context;
use rtc_srtp::crypto::providers::RingCrypto;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

/// Replay window, in packets, for inbound SRTP and SRTCP. RFC 3711 §3.3.2
/// asks for at least 64; 128 is libsrtp's default and leaves room for the
/// reordering a jittery path produces.
const REPLAY_WINDOW: usize = 128;

/// Inline keys are standard base64 (RFC 4568 §9.2, RFC 4648 §4). Some
/// senders drop the `=` padding of the 28-byte GCM key, so decoding accepts
/// it either way; we always write it.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The SRTP crypto suites the relay speaks.
///
/// The two AES-CM ones are what SIP phones and PBXs offer in `a=crypto`;
/// AES-CM-80 and AES-GCM are what browsers negotiate over DTLS-SRTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// AES-128 counter mode, 80-bit HMAC-SHA1 tag (RFC 4568 §6.2.1).
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, 32-bit HMAC-SHA1 tag on SRTP (80-bit on SRTCP).
    AesCm128HmacSha1_32,
    /// AES-128 GCM, 16-byte tag (RFC 7714).
    AeadAes128Gcm,
    /// AES-256 GCM, 16-byte tag (RFC 7714): what `dimpl` prefers when a
    /// browser offers it over DTLS.
    AeadAes256Gcm,
}

impl SrtpSuite {
    /// The RFC 4568 / RFC 7714 §12 `a=crypto` suite name.
    pub fn sdes_name(&self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpSuite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            SrtpSuite::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// The suite an `a=crypto` name denotes, if we support it (names are
    /// case-sensitive tokens, RFC 4568 §9.2).
    pub fn from_sdes_name(name: &str) -> Option<Self> {
        [
            Self::AesCm128HmacSha1_80,
            Self::AesCm128HmacSha1_32,
            Self::AeadAes128Gcm,
            Self::AeadAes256Gcm,
        ]
        .into_iter()
        .find(|suite| suite.sdes_name() == name)
    }

    /// The DTLS `use_srtp` protection profile id (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub fn dtls_profile_id(&self) -> u16 {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => 0x0001,
            SrtpSuite::AesCm128HmacSha1_32 => 0x0002,
            SrtpSuite::AeadAes128Gcm => 0x0007,
            SrtpSuite::AeadAes256Gcm => 0x0008,
        }
    }

    /// The suite a negotiated DTLS `use_srtp` profile id denotes, if we support it.
    pub fn from_dtls_profile_id(id: u16) -> Option<Self> {
        [
            Self::AesCm128HmacSha1_80,
            Self::AesCm128HmacSha1_32,
            Self::AeadAes128Gcm,
            Self::AeadAes256Gcm,
        ]
        .into_iter()
        .find(|suite| suite.dtls_profile_id() == id)
    }

    /// Master key length in bytes.
    pub fn key_len(&self) -> usize {
        match self {
            SrtpSuite::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes (112 bits for AES-CM, 96 for GCM).
    pub fn salt_len(&self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 | SrtpSuite::AesCm128HmacSha1_32 => 14,
            SrtpSuite::AeadAes128Gcm | SrtpSuite::AeadAes256Gcm => 12,
        }
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
            SrtpSuite::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
            SrtpSuite::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
        }
    }
}

/// A suite and its master key and salt: what one direction needs.
///
/// `Debug` shows the suite and lengths only, so keys cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The crypto suite.
    pub suite: SrtpSuite,
    /// Master key, `suite.key_len()` bytes.
    pub master_key: Vec<u8>,
    /// Master salt, `suite.salt_len()` bytes.
    pub master_salt: Vec<u8>,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("suite", &self.suite)
            .field(
                "master_key",
                &format_args!("<{} bytes>", self.master_key.len()),
            )
            .field(
                "master_salt",
                &format_args!("<{} bytes>", self.master_salt.len()),
            )
            .finish()
    }
}

/// One a=crypto value (RFC 4568): "1 AES_CM_128_HMAC_SHA1_80 inline:BASE64KEYSALT[|2^31][|1:4]" — tag, suite, key; a lifetime is accepted; an MKI is refused (Unsupported: we do not do MKI); several inline keys are refused; unknown suites are Unsupported.
///
/// The lifetime is checked for syntax and then ignored: calls end long
/// before 2^31 packets, and a shorter lifetime would need re-keying by a
/// re-INVITE, which the peer starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesCrypto {
    /// The attribute's tag, echoed in the answer (RFC 4568 §5.1.2).
    pub tag: u32,
    /// The suite and the inline key and salt.
    pub keys: SrtpKeys,
}

/// What went wrong with SRTP keys or packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrtpError {
    /// A crypto attribute or key material that is broken (syntax, base64, lengths).
    BadCrypto(String),
    /// Well-formed but not something we do (suite, MKI, several keys, session parameters).
    Unsupported(String),
    /// Authentication or replay failure: the packet is forged, damaged or repeated.
    Auth(String),
    /// Anything else (a packet too short for its tag, an unparsable header).
    Other(String),
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::BadCrypto(what) => write!(f, "bad SRTP crypto: {what}"),
            SrtpError::Unsupported(what) => write!(f, "unsupported SRTP crypto: {what}"),
            SrtpError::Auth(what) => write!(f, "SRTP authentication failed: {what}"),
            SrtpError::Other(what) => write!(f, "SRTP error: {what}"),
        }
    }
}

impl std::error::Error for SrtpError {}

/// Parses one `a=crypto` value (the text after `a=crypto:`).
pub fn parse_crypto_attr(value: &str) -> Result<SdesCrypto, SrtpError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(tag), Some(suite), Some(key_params)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(SrtpError::BadCrypto(format!(
            "expected tag, suite and key: {value:?}"
        )));
    };
    if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SrtpError::BadCrypto(format!("tag {tag:?}")));
    }
    let tag: u32 = tag
        .parse()
        .map_err(|_| SrtpError::BadCrypto(format!("tag {tag:?}")))?;
    let suite = SrtpSuite::from_sdes_name(suite)
        .ok_or_else(|| SrtpError::Unsupported(format!("crypto suite {suite}")))?;
    for param in fields {
        check_session_param(param)?;
    }
    if key_params.contains(';') {
        return Err(SrtpError::Unsupported("several inline keys".into()));
    }
    let Some((method, key_info)) = key_params.split_once(':') else {
        return Err(SrtpError::BadCrypto(format!(
            "key parameter {key_params:?}"
        )));
    };
    if !method.eq_ignore_ascii_case("inline") {
        return Err(SrtpError::Unsupported(format!("key method {method}")));
    }
    let mut parts = key_info.split('|');
    let key_salt = parts.next().unwrap_or_default();
    let mut seen_lifetime = false;
    for part in parts {
        if part.contains(':') {
            return Err(SrtpError::Unsupported("MKI".into()));
        }
        if seen_lifetime || !is_lifetime(part) {
            return Err(SrtpError::BadCrypto(format!("key lifetime {part:?}")));
        }
        seen_lifetime = true;
    }
    let bytes = LENIENT_BASE64
        .decode(key_salt)
        .map_err(|e| SrtpError::BadCrypto(format!("inline key: {e}")))?;
    let keys = split_key_salt(&bytes, suite)?;
    Ok(SdesCrypto { tag, keys })
}

/// Formats an `a=crypto` value: `"1 AES_CM_128_HMAC_SHA1_80 inline:..."`,
/// without lifetime or MKI.
pub fn format_crypto_attr(c: &SdesCrypto) -> String {
    let mut key_salt = Vec::with_capacity(c.keys.master_key.len() + c.keys.master_salt.len());
    key_salt.extend_from_slice(&c.keys.master_key);
    key_salt.extend_from_slice(&c.keys.master_salt);
    format!(
        "{} {} inline:{}",
        c.tag,
        c.keys.suite.sdes_name(),
        STANDARD.encode(key_salt)
    )
}

/// A fresh SDES key for our side of a SIP leg. `rng` must be a CSPRNG (the
/// relay passes one seeded from the OS); it is a parameter so tests are
/// deterministic.
pub fn generate_sdes<R: rand::Rng + ?Sized>(rng: &mut R, tag: u32, suite: SrtpSuite) -> SdesCrypto {
    let mut master_key = vec![0u8; suite.key_len()];
    let mut master_salt = vec![0u8; suite.salt_len()];
    rng.fill_bytes(&mut master_key);
    rng.fill_bytes(&mut master_salt);
    SdesCrypto {
        tag,
        keys: SrtpKeys {
            suite,
            master_key,
            master_salt,
        },
    }
}

/// DTLS-SRTP (RFC 5764 §4.2): split exported keying material (client_key | server_key | client_salt | server_salt) into (outbound keys, inbound keys) for our role.
///
/// `material` is the `EXTRACTOR-dtls_srtp` export of exactly
/// `2 * (key_len + salt_len)` bytes. The DTLS client sends with the client
/// key and salt, the server with the server's.
pub fn dtls_srtp_keys(
    material: &[u8],
    suite: SrtpSuite,
    we_are_dtls_client: bool,
) -> Result<(SrtpKeys, SrtpKeys), SrtpError> {
    let (k, s) = (suite.key_len(), suite.salt_len());
    if material.len() != 2 * (k + s) {
        return Err(SrtpError::BadCrypto(format!(
            "DTLS-SRTP keying material is {} bytes, {} expects {}",
            material.len(),
            suite.sdes_name(),
            2 * (k + s)
        )));
    }
    let client = SrtpKeys {
        suite,
        master_key: material[..k].to_vec(),
        master_salt: material[2 * k..2 * k + s].to_vec(),
    };
    let server = SrtpKeys {
        suite,
        master_key: material[k..2 * k].to_vec(),
        master_salt: material[2 * k + s..].to_vec(),
    };
    Ok(if we_are_dtls_client {
        (client, server)
    } else {
        (server, client)
    })
}

/// One direction's SRTP context (wraps rtc_srtp::Context).
///
/// Use a context either only to protect or only to unprotect: it keeps one
/// rollover counter and replay window per SSRC for the direction it serves.
pub struct SrtpContext {
    suite: SrtpSuite,
    inner: Context,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// A context for `keys`; `BadCrypto` when the key or salt length does not
    /// fit the suite.
    pub fn new(keys: &SrtpKeys) -> Result<Self, SrtpError> {
        let suite = keys.suite;
        if keys.master_key.len() != suite.key_len() || keys.master_salt.len() != suite.salt_len() {
            return Err(SrtpError::BadCrypto(format!(
                "{} needs a {}-byte key and a {}-byte salt, got {} and {}",
                suite.sdes_name(),
                suite.key_len(),
                suite.salt_len(),
                keys.master_key.len(),
                keys.master_salt.len()
            )));
        }
        let inner = Context::new(
            &keys.master_key,
            &keys.master_salt,
            keys.suite.profile(),
            Some(srtp_replay_protection(REPLAY_WINDOW)),
            Some(srtcp_replay_protection(REPLAY_WINDOW)),
            &RingCrypto,
        )
        .map_err(|e| SrtpError::BadCrypto(e.to_string()))?;
        Ok(SrtpContext {
            suite: keys.suite,
            inner,
        })
    }

    /// The suite this context was built for.
    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    /// Encrypts and authenticates one RTP packet.
    pub fn protect_rtp(&mut self, plain: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.inner
            .encrypt_rtp(plain)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Authenticates, replay-checks and decrypts one SRTP packet.
    pub fn unprotect_rtp(&mut self, srtp: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.inner
            .decrypt_rtp(srtp)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Encrypts and authenticates one RTCP compound packet.
    pub fn protect_rtcp(&mut self, plain: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.inner
            .encrypt_rtcp(plain)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Authenticates, replay-checks and decrypts one SRTCP packet.
    ///
    /// A packet whose E flag says "not encrypted" is refused here, before
    /// rtc-srtp sees it: rtc-srtp 0.21.1 returns such an AES-CM packet
    /// without checking its tag, which would let anyone inject RTCP (a BYE,
    /// a fake report). We never negotiate unencrypted SRTCP (the
    /// `UNENCRYPTED_SRTCP` session parameter is refused, and DTLS-SRTP
    /// always encrypts), so a cleared E flag can only be forged or broken.
    pub fn unprotect_rtcp(&mut self, srtcp: &[u8]) -> Result<Vec<u8>, SrtpError> {
        // The E flag heads the 4-byte E|index word, which sits before the
        // HMAC tag for AES-CM and last for GCM (RFC 3711 §3.4, RFC 7714 §9).
        let trailer = 4 + self.suite.profile().rtcp_auth_tag_len();
        if srtcp.len() >= 8 + trailer && srtcp[srtcp.len() - trailer] & 0x80 == 0 {
            return Err(SrtpError::Auth("SRTCP packet without the E flag".into()));
        }
        self.inner
            .decrypt_rtcp(srtcp)
            .map(Vec::from)
            .map_err(map_error)
    }
}

/// Sorts rtc-srtp's errors into the outcomes the relay distinguishes:
/// forged or replayed (count and drop) versus anything else.
fn map_error(e: RtcError) -> SrtpError {
    match e {
        RtcError::RtpFailedToVerifyAuthTag
        | RtcError::RtcpFailedToVerifyAuthTag
        | RtcError::ErrFailedToVerifyAuthTag
        | RtcError::SrtpSsrcDuplicated(..)
        | RtcError::SrtcpSsrcDuplicated(..)
        | RtcError::ErrDuplicated => SrtpError::Auth(e.to_string()),
        other => SrtpError::Other(other.to_string()),
    }
}

/// Splits `key || salt` for `suite`, refusing any other length.
fn split_key_salt(bytes: &[u8], suite: SrtpSuite) -> Result<SrtpKeys, SrtpError> {
    let (k, s) = (suite.key_len(), suite.salt_len());
    if bytes.len() != k + s {
        return Err(SrtpError::BadCrypto(format!(
            "{} needs a {}-byte key and salt, got {} bytes",
            suite.sdes_name(),
            k + s,
            bytes.len()
        )));
    }
    Ok(SrtpKeys {
        suite,
        master_key: bytes[..k].to_vec(),
        master_salt: bytes[k..].to_vec(),
    })
}

/// RFC 4568 §9.2 lifetime: `["2^"] 1*DIGIT`.
fn is_lifetime(s: &str) -> bool {
    let digits = s.strip_prefix("2^").unwrap_or(s);
    !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Session parameters (RFC 4568 §6.3 and §9.2). The window-size hint is
/// harmless and `KDR=0` is what rtc-srtp does anyway; every other parameter
/// changes how packets are protected (unencrypted or unauthenticated SRTP,
/// key derivation rate, FEC order), and an attribute we cannot honour must
/// be refused rather than half-implemented (§5.1.2).
fn check_session_param(param: &str) -> Result<(), SrtpError> {
    if let Some(window) = param.strip_prefix("WSH=")
        && !window.is_empty()
        && window.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(());
    }
    if param == "KDR=0" {
        return Ok(());
    }
    Err(SrtpError::Unsupported(format!("session parameter {param}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const ALL: [SrtpSuite; 4] = [
        SrtpSuite::AeadAes256Gcm,
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
        SrtpSuite::AeadAes128Gcm,
    ];

    fn keys(suite: SrtpSuite, seed: u64) -> SrtpKeys {
        generate_sdes(&mut StdRng::seed_from_u64(seed), 1, suite).keys
    }

    /// An RTP packet: PT 0, the given sequence number, SSRC 0x01020304, 160
    /// bytes of payload that depend on the sequence number.
    fn rtp(seq: u16) -> Vec<u8> {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        packet.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        packet.extend((0..160u16).map(|i| (i as u8) ^ (seq as u8)));
        packet
    }

    /// A receiver report with one report block, SSRC 0x01020304.
    fn rtcp() -> Vec<u8> {
        let mut packet = vec![0x81, 0xc9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04];
        packet.extend_from_slice(&[0x11; 24]);
        packet
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn suite_names_round_trip() {
        for suite in ALL {
            assert_eq!(SrtpSuite::from_sdes_name(suite.sdes_name()), Some(suite));
            assert_eq!(
                SrtpSuite::from_dtls_profile_id(suite.dtls_profile_id()),
                Some(suite)
            );
        }
        assert_eq!(SrtpSuite::from_sdes_name("AES_256_CM_HMAC_SHA1_80"), None);
        assert_eq!(SrtpSuite::from_sdes_name("aes_cm_128_hmac_sha1_80"), None);
        assert_eq!(SrtpSuite::from_dtls_profile_id(0x0009), None);
        assert_eq!(SrtpSuite::AeadAes256Gcm.key_len(), 32);
        assert_eq!(SrtpSuite::AeadAes128Gcm.salt_len(), 12);
        assert_eq!(SrtpSuite::AesCm128HmacSha1_32.salt_len(), 14);
    }

    #[test]
    fn rtp_and_rtcp_round_trip_for_each_suite() {
        for suite in ALL {
            let keys = keys(suite, 7);
            let mut tx = SrtpContext::new(&keys).unwrap();
            let mut rx = SrtpContext::new(&keys).unwrap();
            for seq in [65_530u16, 65_535, 0, 1] {
                let plain = rtp(seq);
                let protected = tx.protect_rtp(&plain).unwrap();
                assert_ne!(
                    protected[12..plain.len()],
                    plain[12..],
                    "{suite:?} payload encrypted"
                );
                assert_eq!(
                    protected[..12],
                    plain[..12],
                    "{suite:?} header in the clear"
                );
                assert_eq!(
                    rx.unprotect_rtp(&protected).unwrap(),
                    plain,
                    "{suite:?} seq {seq}"
                );
            }
            let plain = rtcp();
            let protected = tx.protect_rtcp(&plain).unwrap();
            assert_ne!(protected[8..plain.len()], plain[8..]);
            assert_eq!(rx.unprotect_rtcp(&protected).unwrap(), plain, "{suite:?}");
        }
    }

    #[test]
    fn tag_lengths_follow_the_suite() {
        let plain = rtp(1);
        for (suite, tag) in [
            (SrtpSuite::AesCm128HmacSha1_80, 10),
            (SrtpSuite::AesCm128HmacSha1_32, 4),
            (SrtpSuite::AeadAes128Gcm, 16),
        ] {
            let mut tx = SrtpContext::new(&keys(suite, 1)).unwrap();
            assert_eq!(
                tx.protect_rtp(&plain).unwrap().len(),
                plain.len() + tag,
                "{suite:?}"
            );
        }
    }

    #[test]
    fn a_tampered_packet_fails_authentication() {
        for suite in ALL {
            let keys = keys(suite, 9);
            let mut tx = SrtpContext::new(&keys).unwrap();
            let mut rx = SrtpContext::new(&keys).unwrap();
            let mut protected = tx.protect_rtp(&rtp(100)).unwrap();
            protected[40] ^= 0x01;
            assert!(
                matches!(rx.unprotect_rtp(&protected), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
            let mut protected = tx.protect_rtcp(&rtcp()).unwrap();
            protected[12] ^= 0x01;
            assert!(
                matches!(rx.unprotect_rtcp(&protected), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
        }
    }

    #[test]
    fn the_wrong_key_fails_authentication() {
        for suite in ALL {
            let mut tx = SrtpContext::new(&keys(suite, 1)).unwrap();
            let mut rx = SrtpContext::new(&keys(suite, 2)).unwrap();
            let protected = tx.protect_rtp(&rtp(5)).unwrap();
            assert!(
                matches!(rx.unprotect_rtp(&protected), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
        }
    }

    #[test]
    fn srtcp_with_the_e_flag_cleared_is_refused() {
        for suite in ALL {
            let keys = keys(suite, 11);
            let mut tx = SrtpContext::new(&keys).unwrap();
            let mut rx = SrtpContext::new(&keys).unwrap();
            let mut protected = tx.protect_rtcp(&rtcp()).unwrap();
            let trailer = 4 + suite.profile().rtcp_auth_tag_len();
            let e_at = protected.len() - trailer;
            assert_eq!(protected[e_at] & 0x80, 0x80, "{suite:?} sets E");
            protected[e_at] &= 0x7f;
            assert!(
                matches!(rx.unprotect_rtcp(&protected), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
            // A made-up "unencrypted" report with a junk tag, likewise.
            let mut forged = rtcp();
            forged.extend_from_slice(&[0x00, 0x00, 0x00, 0x01]);
            forged.extend_from_slice(&[0u8; 10]);
            assert!(rx.unprotect_rtcp(&forged).is_err(), "{suite:?}");
        }
    }

    #[test]
    fn a_replayed_packet_is_refused() {
        for suite in ALL {
            let keys = keys(suite, 3);
            let mut tx = SrtpContext::new(&keys).unwrap();
            let mut rx = SrtpContext::new(&keys).unwrap();
            let first = tx.protect_rtp(&rtp(10)).unwrap();
            let second = tx.protect_rtp(&rtp(11)).unwrap();
            rx.unprotect_rtp(&first).unwrap();
            rx.unprotect_rtp(&second).unwrap();
            assert!(
                matches!(rx.unprotect_rtp(&first), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
            let report = tx.protect_rtcp(&rtcp()).unwrap();
            rx.unprotect_rtcp(&report).unwrap();
            assert!(
                matches!(rx.unprotect_rtcp(&report), Err(SrtpError::Auth(_))),
                "{suite:?}"
            );
        }
    }

    #[test]
    fn short_packets_are_errors_not_panics() {
        let keys = keys(SrtpSuite::AesCm128HmacSha1_80, 4);
        let mut rx = SrtpContext::new(&keys).unwrap();
        for len in 0..24 {
            assert!(rx.unprotect_rtp(&rtp(1)[..len]).is_err(), "{len}");
            assert!(rx.unprotect_rtcp(&rtcp()[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn contexts_refuse_wrong_key_lengths() {
        let mut short = keys(SrtpSuite::AesCm128HmacSha1_80, 1);
        short.master_key.pop();
        assert!(matches!(
            SrtpContext::new(&short),
            Err(SrtpError::BadCrypto(_))
        ));
        let mut gcm_with_cm_salt = keys(SrtpSuite::AeadAes128Gcm, 1);
        gcm_with_cm_salt.master_salt.extend_from_slice(&[0, 0]);
        assert!(matches!(
            SrtpContext::new(&gcm_with_cm_salt),
            Err(SrtpError::BadCrypto(_))
        ));
    }

    /// libsrtp's `srtp_validate()` reference packets (test/srtp_driver.c):
    /// key e1f97a0d..., salt 0ec675ad... (RFC 3711 B.3's master key and
    /// salt), SSRC 0xcafebabe. Matching them byte for byte proves the key
    /// and salt reach rtc-srtp the right way round.
    #[test]
    fn aes_cm_80_matches_libsrtp_reference_packets() {
        let keys = SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            master_key: hex("e1f97a0d3e018be0d64fa32c06de4139"),
            master_salt: hex("0ec675ad498afeebb6960b3aabe6"),
        };
        let rtp_plain = hex("800f1234decafbadcafebabeabababababababababababababababab");
        let srtp =
            hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
        let rtcp_plain = hex("81c8000bcafebabeabababababababababababababababab");
        let srtcp =
            hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");
        let mut tx = SrtpContext::new(&keys).unwrap();
        assert_eq!(tx.protect_rtp(&rtp_plain).unwrap(), srtp);
        assert_eq!(tx.protect_rtcp(&rtcp_plain).unwrap(), srtcp);
        let mut rx = SrtpContext::new(&keys).unwrap();
        assert_eq!(rx.unprotect_rtp(&srtp).unwrap(), rtp_plain);
        assert_eq!(rx.unprotect_rtcp(&srtcp).unwrap(), rtcp_plain);
    }

    /// libsrtp's `srtp_validate_gcm()` reference packets: key 00..0f, salt
    /// a0..ab (RFC 7714's example master key and salt).
    #[test]
    fn aead_aes_128_gcm_matches_libsrtp_reference_packets() {
        let keys = SrtpKeys {
            suite: SrtpSuite::AeadAes128Gcm,
            master_key: hex("000102030405060708090a0b0c0d0e0f"),
            master_salt: hex("a0a1a2a3a4a5a6a7a8a9aaab"),
        };
        let rtp_plain = hex("800f1234decafbadcafebabeabababababababababababababababab");
        let srtp = hex(
            "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392",
        );
        let rtcp_plain = hex("81c8000bcafebabeabababababababababababababababab");
        let srtcp = hex(
            "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001",
        );
        let mut tx = SrtpContext::new(&keys).unwrap();
        assert_eq!(tx.protect_rtp(&rtp_plain).unwrap(), srtp);
        assert_eq!(tx.protect_rtcp(&rtcp_plain).unwrap(), srtcp);
        let mut rx = SrtpContext::new(&keys).unwrap();
        assert_eq!(rx.unprotect_rtp(&srtp).unwrap(), rtp_plain);
        assert_eq!(rx.unprotect_rtcp(&srtcp).unwrap(), rtcp_plain);
    }

    #[test]
    fn rfc4568_example_with_mki_is_refused() {
        let line =
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32";
        assert!(matches!(
            parse_crypto_attr(line),
            Err(SrtpError::Unsupported(_))
        ));
    }

    #[test]
    fn rfc4568_example_without_mki_parses() {
        let line = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20";
        let crypto = parse_crypto_attr(line).unwrap();
        assert_eq!(crypto.tag, 1);
        assert_eq!(crypto.keys.suite, SrtpSuite::AesCm128HmacSha1_80);
        let decoded = STANDARD
            .decode("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
            .unwrap();
        assert_eq!(crypto.keys.master_key, decoded[..16]);
        assert_eq!(crypto.keys.master_salt, decoded[16..]);
        // The same key without a lifetime, and with a decimal one.
        let bare = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        assert_eq!(parse_crypto_attr(bare).unwrap(), crypto);
        let decimal = format!("{bare}|1048576");
        assert_eq!(parse_crypto_attr(&decimal).unwrap(), crypto);
    }

    #[test]
    fn format_and_parse_round_trip() {
        let mut rng = StdRng::seed_from_u64(42);
        for (tag, suite) in [(1, ALL[0]), (2, ALL[1]), (123_456_789, ALL[2])] {
            let crypto = generate_sdes(&mut rng, tag, suite);
            let line = format_crypto_attr(&crypto);
            assert!(
                line.starts_with(&format!("{tag} {} inline:", suite.sdes_name())),
                "{line}"
            );
            assert_eq!(parse_crypto_attr(&line).unwrap(), crypto);
        }
    }

    #[test]
    fn gcm_keys_parse_with_or_without_padding() {
        let crypto = generate_sdes(&mut StdRng::seed_from_u64(5), 3, SrtpSuite::AeadAes128Gcm);
        let line = format_crypto_attr(&crypto);
        assert!(line.ends_with('='), "28 bytes need padding: {line}");
        assert_eq!(
            parse_crypto_attr(line.trim_end_matches('=')).unwrap(),
            crypto
        );
    }

    #[test]
    fn generated_keys_are_fresh_and_sized() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = generate_sdes(&mut rng, 1, SrtpSuite::AeadAes128Gcm);
        let b = generate_sdes(&mut rng, 1, SrtpSuite::AeadAes128Gcm);
        assert_ne!(a, b);
        assert_eq!(a.keys.master_key.len(), 16);
        assert_eq!(a.keys.master_salt.len(), 12);
        assert!(SrtpContext::new(&a.keys).is_ok());
    }

    #[test]
    fn broken_or_unsupported_crypto_lines() {
        let key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let unsupported = [
            format!("1 AES_256_CM_HMAC_SHA1_80 inline:{key}"),
            format!("1 F8_128_HMAC_SHA1_80 inline:{key}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key};inline:{key}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key} UNENCRYPTED_SRTP"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key} KDR=10"),
            format!("1 AES_CM_128_HMAC_SHA1_80 uri:{key}"),
        ];
        for line in &unsupported {
            assert!(
                matches!(parse_crypto_attr(line), Err(SrtpError::Unsupported(_))),
                "{line}"
            );
        }
        let broken = [
            String::new(),
            "1 AES_CM_128_HMAC_SHA1_80".to_owned(),
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{key}"),
            format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{key}"),
            "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64".to_owned(),
            // A GCM-sized key for an AES-CM suite.
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==".to_owned(),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|2^20"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline{key}"),
        ];
        for line in &broken {
            assert!(
                matches!(parse_crypto_attr(line), Err(SrtpError::BadCrypto(_))),
                "{line}"
            );
        }
    }

    #[test]
    fn harmless_session_parameters_are_accepted() {
        let line = "7 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR WSH=128 KDR=0";
        let crypto = parse_crypto_attr(line).unwrap();
        assert_eq!(crypto.tag, 7);
        assert_eq!(crypto.keys.suite, SrtpSuite::AesCm128HmacSha1_32);
    }

    #[test]
    fn dtls_srtp_keys_split_by_role() {
        for suite in ALL {
            let (k, s) = (suite.key_len(), suite.salt_len());
            // client_key = 0x01.., server_key = 0x02.., client_salt = 0x03.., server_salt = 0x04..
            let mut material = vec![0x01; k];
            material.extend(vec![0x02; k]);
            material.extend(vec![0x03; s]);
            material.extend(vec![0x04; s]);
            let (client_out, client_in) = dtls_srtp_keys(&material, suite, true).unwrap();
            let (server_out, server_in) = dtls_srtp_keys(&material, suite, false).unwrap();
            assert_eq!(client_out.master_key, vec![0x01; k]);
            assert_eq!(client_out.master_salt, vec![0x03; s]);
            assert_eq!(client_in.master_key, vec![0x02; k]);
            assert_eq!(client_in.master_salt, vec![0x04; s]);
            assert_eq!(client_out, server_in);
            assert_eq!(client_in, server_out);
            assert_eq!(client_out.suite, suite);
            // And the pairs interoperate.
            let mut tx = SrtpContext::new(&client_out).unwrap();
            let mut rx = SrtpContext::new(&server_in).unwrap();
            assert_eq!(
                rx.unprotect_rtp(&tx.protect_rtp(&rtp(1)).unwrap()).unwrap(),
                rtp(1)
            );

            assert!(matches!(
                dtls_srtp_keys(&material[1..], suite, true),
                Err(SrtpError::BadCrypto(_))
            ));
        }
    }

    #[test]
    fn debug_output_hides_keys() {
        let keys = SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            master_key: vec![0xab; 16],
            master_salt: vec![0xcd; 14],
        };
        let shown = format!("{keys:?} {:?}", SrtpContext::new(&keys).unwrap());
        assert!(
            !shown.contains("171") && !shown.contains("ab, ab"),
            "{shown}"
        );
        assert!(shown.contains("16 bytes"), "{shown}");
    }
}
