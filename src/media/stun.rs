//! The ICE-lite responder's STUN: read a Binding request, answer it.
//!
//! An ICE-lite agent ([RFC 8445] §2.5) never sends connectivity checks; it
//! only answers the full agent's Binding requests on each media port, and it
//! learns the nominated pair from USE-CANDIDATE. So this module is the
//! responder half of STUN ([RFC 5389], [RFC 8489]) and nothing else: parse and
//! authenticate a request with our short-term password (the local ice-pwd),
//! and build a success or error response. Which username is acceptable
//! (`local-ufrag:remote-ufrag`), role conflicts and nomination are the
//! caller's decisions; this module reports what the request says.
//!
//! Short-term credentials hash the password as given: RFC 5389 §15.4 asks
//! for SASLprep, which is the identity on ICE passwords (RFC 8839 §5.4
//! ice-char is ALPHA / DIGIT / "+" / "/").
//!
//! [RFC 8445]: https://www.rfc-editor.org/rfc/rfc8445
//! [RFC 5389]: https://www.rfc-editor.org/rfc/rfc5389
//! [RFC 8489]: https://www.rfc-editor.org/rfc/rfc8489

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The magic cookie (RFC 5389 §6), also the XOR key for addresses.
const MAGIC_COOKIE: u32 = 0x2112_a442;
/// Message header: type, length, cookie, transaction id.
const HEADER_LEN: usize = 20;

/// Message types (method + class, RFC 5389 §6).
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const BINDING_ERROR: u16 = 0x0111;

/// Attribute types (RFC 5389 §18.2, RFC 8445 §16.1).
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_PRIORITY: u16 = 0x0024;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_FINGERPRINT: u16 = 0x8028;
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
const ATTR_ICE_CONTROLLING: u16 = 0x802a;

/// MESSAGE-INTEGRITY value: an HMAC-SHA1.
const INTEGRITY_LEN: usize = 20;
/// FINGERPRINT is CRC-32 of the message XORed with this ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554e;
/// USERNAME is under 513 bytes (RFC 5389 §15.3).
const MAX_USERNAME_LEN: usize = 512;

/// An authenticated ICE connectivity check (a STUN Binding request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRequest {
    /// Copied into the response.
    pub transaction_id: [u8; 12],
    /// USERNAME: `<our ufrag>:<their ufrag>` for ICE (RFC 8445 §7.2.2);
    /// the caller checks it against the session.
    pub username: String,
    /// USE-CANDIDATE: the controlling agent nominates this pair.
    pub use_candidate: bool,
    /// ICE-CONTROLLING tie-breaker, when the sender claims the controlling role.
    pub ice_controlling: Option<u64>,
    /// ICE-CONTROLLED tie-breaker, when the sender claims the controlled role.
    pub ice_controlled: Option<u64>,
    /// PRIORITY of the peer-reflexive candidate the check would create.
    pub priority: Option<u32>,
}

impl BindingRequest {
    /// The ufrag before the `:` in USERNAME, which must be ours; the whole
    /// username when there is no `:`.
    pub fn local_ufrag(&self) -> &str {
        self.username.split(':').next().unwrap_or_default()
    }
}

/// Why a datagram is not an acceptable Binding request.
///
/// The caller's answer follows RFC 5389 §10.1.2: drop [`NotStun`] and
/// [`BadFingerprint`] silently; answer [`MissingIntegrity`],
/// [`MissingUsername`] and [`Malformed`] with 400, [`BadIntegrity`] with
/// 401 (no MESSAGE-INTEGRITY on those, since the key is in question);
/// ignore [`NotBindingRequest`] (indications, responses, other methods).
///
/// [`NotStun`]: StunError::NotStun
/// [`BadFingerprint`]: StunError::BadFingerprint
/// [`MissingIntegrity`]: StunError::MissingIntegrity
/// [`MissingUsername`]: StunError::MissingUsername
/// [`Malformed`]: StunError::Malformed
/// [`BadIntegrity`]: StunError::BadIntegrity
/// [`NotBindingRequest`]: StunError::NotBindingRequest
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StunError {
    /// Not a STUN message: too short, top bits set, or no magic cookie.
    NotStun,
    /// STUN, but not a Binding request.
    NotBindingRequest,
    /// A Binding request whose structure is broken (lengths, attribute
    /// values), or that carries a comprehension-required attribute we do not
    /// know (RFC 5389 §7.3.1, which would be a 420).
    Malformed(&'static str),
    /// FINGERPRINT present but wrong.
    BadFingerprint,
    /// No MESSAGE-INTEGRITY.
    MissingIntegrity,
    /// MESSAGE-INTEGRITY does not match our password.
    BadIntegrity,
    /// No USERNAME.
    MissingUsername,
}

impl fmt::Display for StunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StunError::NotStun => f.write_str("not a STUN message"),
            StunError::NotBindingRequest => f.write_str("not a STUN Binding request"),
            StunError::Malformed(what) => write!(f, "malformed STUN Binding request: {what}"),
            StunError::BadFingerprint => f.write_str("STUN FINGERPRINT mismatch"),
            StunError::MissingIntegrity => f.write_str("STUN request without MESSAGE-INTEGRITY"),
            StunError::BadIntegrity => f.write_str("STUN MESSAGE-INTEGRITY mismatch"),
            StunError::MissingUsername => f.write_str("STUN request without USERNAME"),
        }
    }
}

impl std::error::Error for StunError {}

/// Parses a Binding request and authenticates it with our short-term password (the local ice-pwd).
///
/// Checks FINGERPRINT when present (CRC-32 XOR 0x5354554e) and
/// MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the attribute, with
/// the header length adjusted as RFC 5389 §15.4 says). Attributes after
/// MESSAGE-INTEGRITY other than FINGERPRINT are ignored (§15.4), as are
/// unknown comprehension-optional ones (0x8000..); of a repeated attribute
/// the first counts (RFC 8489 §14).
pub fn parse_binding_request(buf: &[u8], local_pwd: &str) -> Result<BindingRequest, StunError> {
    if buf.len() < HEADER_LEN || buf[0] & 0xc0 != 0 || read_u32(buf, 4) != Some(MAGIC_COOKIE) {
        return Err(StunError::NotStun);
    }
    let declared = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if declared % 4 != 0 || HEADER_LEN + declared != buf.len() {
        return Err(StunError::Malformed("message length"));
    }
    if u16::from_be_bytes([buf[0], buf[1]]) != BINDING_REQUEST {
        return Err(StunError::NotBindingRequest);
    }
    let mut transaction_id = [0u8; 12];
    transaction_id.copy_from_slice(&buf[8..HEADER_LEN]);

    let mut request = BindingRequest {
        transaction_id,
        username: String::new(),
        use_candidate: false,
        ice_controlling: None,
        ice_controlled: None,
        priority: None,
    };
    let mut username = None;
    let mut integrity_at = None;
    let mut fingerprint_at = None;
    let mut unknown_required = false;

    let mut at = HEADER_LEN;
    while at < buf.len() {
        if fingerprint_at.is_some() {
            return Err(StunError::Malformed("attribute after FINGERPRINT"));
        }
        let (kind, value) =
            attribute_at(buf, at).ok_or(StunError::Malformed("attribute length"))?;
        let next = at + 4 + padded(value.len());
        if kind == ATTR_FINGERPRINT {
            if value.len() != 4 {
                return Err(StunError::Malformed("FINGERPRINT length"));
            }
            fingerprint_at = Some(at);
        } else if integrity_at.is_some() {
            // RFC 5389 §15.4: only FINGERPRINT may follow MESSAGE-INTEGRITY.
        } else {
            match kind {
                ATTR_MESSAGE_INTEGRITY => {
                    if value.len() != INTEGRITY_LEN {
                        return Err(StunError::Malformed("MESSAGE-INTEGRITY length"));
                    }
                    integrity_at = Some(at);
                }
                ATTR_USERNAME if username.is_none() => {
                    if value.len() > MAX_USERNAME_LEN {
                        return Err(StunError::Malformed("USERNAME too long"));
                    }
                    let text = std::str::from_utf8(value)
                        .map_err(|_| StunError::Malformed("USERNAME is not UTF-8"))?;
                    username = Some(text.to_owned());
                }
                ATTR_PRIORITY if request.priority.is_none() => {
                    request.priority =
                        Some(fixed_u32(value).ok_or(StunError::Malformed("PRIORITY length"))?);
                }
                ATTR_USE_CANDIDATE => {
                    if !value.is_empty() {
                        return Err(StunError::Malformed("USE-CANDIDATE length"));
                    }
                    request.use_candidate = true;
                }
                ATTR_ICE_CONTROLLING if request.ice_controlling.is_none() => {
                    request.ice_controlling = Some(
                        fixed_u64(value).ok_or(StunError::Malformed("ICE-CONTROLLING length"))?,
                    );
                }
                ATTR_ICE_CONTROLLED if request.ice_controlled.is_none() => {
                    request.ice_controlled = Some(
                        fixed_u64(value).ok_or(StunError::Malformed("ICE-CONTROLLED length"))?,
                    );
                }
                ATTR_USERNAME | ATTR_PRIORITY | ATTR_ICE_CONTROLLING | ATTR_ICE_CONTROLLED => {}
                // Unknown comprehension-required (0x0000..=0x7fff): refused,
                // but only once the request is known to be authentic.
                0x0000..=0x7fff => unknown_required = true,
                _ => {}
            }
        }
        at = next;
    }

    // FINGERPRINT first: a mismatch means "not STUN" (RFC 5389 §7.3), so it
    // is checked before any key is used.
    if let Some(fp_at) = fingerprint_at {
        let expected = read_u32(buf, fp_at + 4).ok_or(StunError::Malformed("FINGERPRINT"))?;
        if fingerprint(&buf[..fp_at]) != expected {
            return Err(StunError::BadFingerprint);
        }
    }
    let integrity_at = integrity_at.ok_or(StunError::MissingIntegrity)?;
    request.username = username.ok_or(StunError::MissingUsername)?;
    let expected = &buf[integrity_at + 4..integrity_at + 4 + INTEGRITY_LEN];
    if !verify_integrity(&buf[..integrity_at], local_pwd, expected) {
        return Err(StunError::BadIntegrity);
    }
    if unknown_required {
        return Err(StunError::Malformed(
            "unknown comprehension-required attribute",
        ));
    }
    Ok(request)
}

/// A Binding success response: XOR-MAPPED-ADDRESS (IPv4 and IPv6), MESSAGE-INTEGRITY with local_pwd, FINGERPRINT.
///
/// `mapped` is the request's source address. An IPv4-mapped IPv6 address
/// (what a dual-stack socket reports for an IPv4 peer) is answered as the
/// IPv4 address the peer knows itself by.
pub fn binding_success(transaction_id: &[u8; 12], mapped: SocketAddr, local_pwd: &str) -> Vec<u8> {
    let mut msg = header(BINDING_SUCCESS, transaction_id);
    push_attribute(
        &mut msg,
        ATTR_XOR_MAPPED_ADDRESS,
        &xor_mapped_address(transaction_id, mapped),
    );
    push_integrity(&mut msg, local_pwd);
    push_fingerprint(&mut msg);
    msg
}

/// A Binding error response (ERROR-CODE; e.g. 487 Role Conflict, 400, 401), with MESSAGE-INTEGRITY (when local_pwd is Some) and FINGERPRINT.
///
/// `code` must be 300..=699 (RFC 5389 §15.6); other values are clamped into
/// that range rather than producing an unparseable attribute. The reason
/// phrase is cut to 127 characters.
pub fn binding_error(
    transaction_id: &[u8; 12],
    code: u16,
    reason: &str,
    local_pwd: Option<&str>,
) -> Vec<u8> {
    let code = code.clamp(300, 699);
    let reason: String = reason.chars().take(127).collect();
    let mut value = Vec::with_capacity(4 + reason.len());
    value.extend_from_slice(&[0, 0, (code / 100) as u8, (code % 100) as u8]);
    value.extend_from_slice(reason.as_bytes());

    let mut msg = header(BINDING_ERROR, transaction_id);
    push_attribute(&mut msg, ATTR_ERROR_CODE, &value);
    if let Some(pwd) = local_pwd {
        push_integrity(&mut msg, pwd);
    }
    push_fingerprint(&mut msg);
    msg
}

/// A Binding request as a full ICE agent sends it (RFC 8445 §7.1.2):
/// USERNAME `remote_ufrag:local_ufrag`, PRIORITY, ICE-CONTROLLING (with
/// USE-CANDIDATE when nominating) or ICE-CONTROLLED, MESSAGE-INTEGRITY with
/// the answering agent's password, FINGERPRINT. stox itself is ICE-lite and
/// never checks; this is the client side for tests and the load generator.
pub fn binding_request(
    transaction_id: &[u8; 12],
    username: &str,
    remote_pwd: &str,
    controlling: Option<u64>,
    use_candidate: bool,
) -> Vec<u8> {
    let mut msg = header(BINDING_REQUEST, transaction_id);
    push_attribute(&mut msg, ATTR_USERNAME, username.as_bytes());
    push_attribute(&mut msg, ATTR_PRIORITY, &0x6e00_1eff_u32.to_be_bytes());
    match controlling {
        Some(tie) => {
            push_attribute(&mut msg, ATTR_ICE_CONTROLLING, &tie.to_be_bytes());
            if use_candidate {
                push_attribute(&mut msg, ATTR_USE_CANDIDATE, &[]);
            }
        }
        None => push_attribute(&mut msg, ATTR_ICE_CONTROLLED, &1u64.to_be_bytes()),
    }
    push_integrity(&mut msg, remote_pwd);
    push_fingerprint(&mut msg);
    msg
}

/// A message header with an empty body.
fn header(kind: u16, transaction_id: &[u8; 12]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(80);
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    msg.extend_from_slice(transaction_id);
    msg
}

/// Appends one attribute, zero-padded to 4 bytes, and updates the header length.
fn push_attribute(msg: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(value.len()).expect("STUN attributes we build are short");
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(value);
    msg.resize(msg.len() + padded(value.len()) - value.len(), 0);
    let body = msg.len() - HEADER_LEN;
    set_length(msg, body);
}

/// Appends MESSAGE-INTEGRITY: the HMAC covers the message so far, with the
/// header length already counting the integrity attribute itself (§15.4).
fn push_integrity(msg: &mut Vec<u8>, pwd: &str) {
    let tag = integrity(msg, pwd);
    push_attribute(msg, ATTR_MESSAGE_INTEGRITY, &tag);
}

/// Appends FINGERPRINT: CRC-32 of the message so far, with the header length
/// already counting the fingerprint attribute (§15.5).
fn push_fingerprint(msg: &mut Vec<u8>) {
    let body = msg.len() - HEADER_LEN + 8;
    set_length(msg, body);
    let crc = fingerprint(msg);
    push_attribute(msg, ATTR_FINGERPRINT, &crc.to_be_bytes());
}

fn set_length(msg: &mut [u8], len: usize) {
    let len = u16::try_from(len).expect("STUN messages we build are short");
    msg[2..4].copy_from_slice(&len.to_be_bytes());
}

/// The HMAC input is `prefix` (everything before MESSAGE-INTEGRITY) with its
/// length field replaced by the length up to and including the integrity
/// attribute; the bytes after are not hashed, so the prefix is fed in two
/// pieces instead of being copied.
fn integrity_mac(prefix: &[u8], pwd: &str) -> Hmac<Sha1> {
    let adjusted = u16::try_from(prefix.len() - HEADER_LEN + 4 + INTEGRITY_LEN)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let mut mac = Hmac::<Sha1>::new_from_slice(pwd.as_bytes()).expect("HMAC takes any key length");
    mac.update(&prefix[..2]);
    mac.update(&adjusted);
    mac.update(&prefix[4..]);
    mac
}

fn integrity(prefix: &[u8], pwd: &str) -> [u8; INTEGRITY_LEN] {
    integrity_mac(prefix, pwd).finalize().into_bytes().into()
}

/// Constant-time comparison (the `hmac` crate's `verify_slice`), so the
/// time taken does not tell an attacker how much of a forged tag is right.
fn verify_integrity(prefix: &[u8], pwd: &str, tag: &[u8]) -> bool {
    integrity_mac(prefix, pwd).verify_slice(tag).is_ok()
}

/// FINGERPRINT value of `prefix` (everything before the attribute, header
/// length already counting it).
fn fingerprint(prefix: &[u8]) -> u32 {
    crc32(prefix) ^ FINGERPRINT_XOR
}

/// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, init and final XOR
/// 0xFFFFFFFF), table-driven with the table built at compile time.
///
/// Our own rather than `crc32fast`: it is a dozen lines, it runs once per
/// connectivity check (a few per second per call, never per media packet),
/// so SIMD speed buys nothing and a new dependency would cost more than it
/// saves. Checked against the standard check value and RFC 5769.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

/// XOR-MAPPED-ADDRESS value (RFC 5389 §15.2): the port XORed with the top
/// of the cookie, an IPv4 address with the cookie, an IPv6 address with the
/// cookie followed by the transaction id.
fn xor_mapped_address(transaction_id: &[u8; 12], mapped: SocketAddr) -> Vec<u8> {
    let port = mapped.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let mut value = Vec::with_capacity(20);
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    key[4..].copy_from_slice(transaction_id);
    match mapped.ip().to_canonical() {
        IpAddr::V4(ip) => {
            value.extend_from_slice(&[0, 0x01]);
            value.extend_from_slice(&port.to_be_bytes());
            value.extend(ip.octets().iter().zip(&key).map(|(a, k)| a ^ k));
        }
        IpAddr::V6(ip) => {
            value.extend_from_slice(&[0, 0x02]);
            value.extend_from_slice(&port.to_be_bytes());
            value.extend(ip.octets().iter().zip(&key).map(|(a, k)| a ^ k));
        }
    }
    value
}

/// The attribute starting at `at`: its type and its (unpadded) value, when
/// the value and its padding fit in `buf`.
fn attribute_at(buf: &[u8], at: usize) -> Option<(u16, &[u8])> {
    let head = buf.get(at..at + 4)?;
    let kind = u16::from_be_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    buf.get(at + 4..at + 4 + padded(len))?;
    Some((kind, &buf[at + 4..at + 4 + len]))
}

fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn fixed_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(value.try_into().ok()?))
}

fn fixed_u64(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const RFC5769_PWD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
    const RFC5769_TXID: [u8; 12] = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    /// RFC 5769 §2.1: sample request with short-term credentials.
    const RFC5769_REQUEST: [u8; 108] = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, //
        0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, // SOFTWARE
        0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, //
        0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, // PRIORITY
        0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b,
        0x36, // ICE-CONTROLLED
        0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, // USERNAME
        0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7,
        0x0c, // MESSAGE-INTEGRITY
        0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, //
        0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf, // FINGERPRINT
    ];

    /// RFC 5769 §2.2: sample IPv4 response (192.0.2.1:32853).
    const RFC5769_RESPONSE_V4: [u8; 80] = [
        0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, //
        0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, // SOFTWARE
        0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, //
        0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6,
        0x43, // XOR-MAPPED-ADDRESS
        0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90,
        0xc3, // MESSAGE-INTEGRITY
        0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, //
        0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96, // FINGERPRINT
    ];

    /// RFC 5769 §2.3: sample IPv6 response
    /// ([2001:db8:1234:5678:11:2233:4455:6677]:32853).
    const RFC5769_RESPONSE_V6: [u8; 92] = [
        0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, //
        0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, // SOFTWARE
        0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, //
        0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9,
        0xfa, // XOR-MAPPED-ADDRESS
        0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, //
        0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b,
        0xf1, // MESSAGE-INTEGRITY
        0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41, //
        0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c, // FINGERPRINT
    ];

    fn v4_addr() -> SocketAddr {
        SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 32853)
    }

    fn v6_addr() -> SocketAddr {
        let ip = Ipv6Addr::new(0x2001, 0xdb8, 0x1234, 0x5678, 0x11, 0x2233, 0x4455, 0x6677);
        SocketAddr::new(ip.into(), 32853)
    }

    /// Recomputes FINGERPRINT and MESSAGE-INTEGRITY of a message after a
    /// test edited it, so that the edit itself is what the parser judges.
    fn reseal(msg: &[u8], pwd: &str) -> Vec<u8> {
        let mi_at = msg.len() - 32;
        let mut out = msg[..mi_at].to_vec();
        push_integrity(&mut out, pwd);
        push_fingerprint(&mut out);
        out
    }

    #[test]
    fn our_requests_parse_and_authenticate() {
        let txid = [7u8; 12];
        let req = binding_request(&txid, "ours:theirs", "pw", Some(42), true);
        let parsed = parse_binding_request(&req, "pw").unwrap();
        assert_eq!(parsed.username, "ours:theirs");
        assert!(parsed.use_candidate);
        assert_eq!(parsed.ice_controlling, Some(42));
        let controlled = binding_request(&txid, "a:b", "pw", None, true);
        let parsed = parse_binding_request(&controlled, "pw").unwrap();
        assert!(parsed.ice_controlled.is_some() && !parsed.use_candidate);
        assert!(matches!(
            parse_binding_request(&req, "other"),
            Err(StunError::BadIntegrity)
        ));
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn parses_and_authenticates_the_rfc5769_request() {
        let request = parse_binding_request(&RFC5769_REQUEST, RFC5769_PWD).unwrap();
        assert_eq!(
            request,
            BindingRequest {
                transaction_id: RFC5769_TXID,
                username: "evtj:h6vY".into(),
                use_candidate: false,
                ice_controlling: None,
                ice_controlled: Some(0x932f_f9b1_5126_3b36),
                priority: Some(0x6e00_01ff),
            }
        );
        assert_eq!(request.local_ufrag(), "evtj");
    }

    #[test]
    fn wrong_password_is_bad_integrity() {
        assert_eq!(
            parse_binding_request(&RFC5769_REQUEST, "VOkJxbRl1RmTxUk/WvJxBu"),
            Err(StunError::BadIntegrity)
        );
        assert_eq!(
            parse_binding_request(&RFC5769_REQUEST, ""),
            Err(StunError::BadIntegrity)
        );
    }

    #[test]
    fn a_tampered_byte_fails_integrity_when_the_fingerprint_is_fixed_up() {
        // Change the PRIORITY value, then recompute only the fingerprint:
        // the HMAC still covers the original value.
        let mut msg = RFC5769_REQUEST.to_vec();
        msg[44] ^= 0x01;
        msg.truncate(msg.len() - 8);
        push_fingerprint(&mut msg);
        assert_eq!(
            parse_binding_request(&msg, RFC5769_PWD),
            Err(StunError::BadIntegrity)
        );
    }

    #[test]
    fn a_tampered_byte_fails_the_fingerprint() {
        for at in [24usize, 44, 60, 70, 85, 104] {
            let mut msg = RFC5769_REQUEST;
            msg[at] ^= 0x40;
            assert_eq!(
                parse_binding_request(&msg, RFC5769_PWD),
                Err(StunError::BadFingerprint),
                "byte {at}"
            );
        }
    }

    #[test]
    fn a_request_without_fingerprint_is_still_authenticated() {
        let mut msg = RFC5769_REQUEST[..100].to_vec();
        set_length(&mut msg, 80);
        let request = parse_binding_request(&msg, RFC5769_PWD).unwrap();
        assert_eq!(request.username, "evtj:h6vY");
        msg[44] ^= 0x01;
        assert_eq!(
            parse_binding_request(&msg, RFC5769_PWD),
            Err(StunError::BadIntegrity)
        );
    }

    #[test]
    fn truncation_and_bad_lengths_are_refused() {
        assert_eq!(
            parse_binding_request(&RFC5769_REQUEST[..19], RFC5769_PWD),
            Err(StunError::NotStun)
        );
        assert_eq!(
            parse_binding_request(&RFC5769_REQUEST[..104], RFC5769_PWD),
            Err(StunError::Malformed("message length"))
        );
        // Header length agrees with the datagram, but the last attribute
        // claims more than is there.
        let mut msg = RFC5769_REQUEST[..104].to_vec();
        set_length(&mut msg, 84);
        assert_eq!(
            parse_binding_request(&msg, RFC5769_PWD),
            Err(StunError::Malformed("attribute length"))
        );
        let mut odd = RFC5769_REQUEST;
        odd[3] = 0x57;
        assert_eq!(
            parse_binding_request(&odd, RFC5769_PWD),
            Err(StunError::Malformed("message length"))
        );
    }

    #[test]
    fn non_requests_are_told_apart() {
        assert_eq!(
            parse_binding_request(&RFC5769_RESPONSE_V4, RFC5769_PWD),
            Err(StunError::NotBindingRequest)
        );
        let mut no_cookie = RFC5769_REQUEST;
        no_cookie[5] = 0;
        assert_eq!(
            parse_binding_request(&no_cookie, RFC5769_PWD),
            Err(StunError::NotStun)
        );
        let mut rtp = RFC5769_REQUEST;
        rtp[0] = 0x80;
        assert_eq!(
            parse_binding_request(&rtp, RFC5769_PWD),
            Err(StunError::NotStun)
        );
    }

    /// Builds a request: header, then `attributes`, then MESSAGE-INTEGRITY
    /// (when `pwd` is Some) and FINGERPRINT.
    fn request(attributes: &[(u16, &[u8])], pwd: Option<&str>) -> Vec<u8> {
        let mut msg = header(BINDING_REQUEST, &RFC5769_TXID);
        for (kind, value) in attributes {
            push_attribute(&mut msg, *kind, value);
        }
        if let Some(pwd) = pwd {
            push_integrity(&mut msg, pwd);
        }
        push_fingerprint(&mut msg);
        msg
    }

    #[test]
    fn reads_a_browser_style_nominating_check() {
        let msg = request(
            &[
                (ATTR_USERNAME, b"ours:theirs"),
                (0xc057, &[0, 1, 0, 10]), // GOOG-NETWORK-INFO: comprehension-optional
                (ATTR_ICE_CONTROLLING, &7u64.to_be_bytes()),
                (ATTR_USE_CANDIDATE, b""),
                (ATTR_PRIORITY, &1_853_824_767u32.to_be_bytes()),
            ],
            Some("pwd+/0123456789abcdefgh"),
        );
        let request = parse_binding_request(&msg, "pwd+/0123456789abcdefgh").unwrap();
        assert!(request.use_candidate);
        assert_eq!(request.ice_controlling, Some(7));
        assert_eq!(request.ice_controlled, None);
        assert_eq!(request.priority, Some(1_853_824_767));
        assert_eq!(request.local_ufrag(), "ours");
    }

    #[test]
    fn missing_credentials_are_reported() {
        let no_integrity = request(&[(ATTR_USERNAME, b"a:b")], None);
        assert_eq!(
            parse_binding_request(&no_integrity, "pw"),
            Err(StunError::MissingIntegrity)
        );
        let no_username = request(&[(ATTR_PRIORITY, &[0, 0, 0, 1])], Some("pw"));
        assert_eq!(
            parse_binding_request(&no_username, "pw"),
            Err(StunError::MissingUsername)
        );
    }

    #[test]
    fn unknown_required_attributes_are_refused_after_authentication() {
        let msg = request(
            &[(ATTR_USERNAME, b"a:b"), (0x0030, &[1, 2, 3, 4])],
            Some("pw"),
        );
        assert_eq!(
            parse_binding_request(&msg, "pw"),
            Err(StunError::Malformed(
                "unknown comprehension-required attribute"
            ))
        );
        assert_eq!(
            parse_binding_request(&msg, "other"),
            Err(StunError::BadIntegrity)
        );
    }

    #[test]
    fn attributes_after_integrity_are_ignored() {
        let mut msg = header(BINDING_REQUEST, &RFC5769_TXID);
        push_attribute(&mut msg, ATTR_USERNAME, b"a:b");
        push_integrity(&mut msg, "pw");
        push_attribute(&mut msg, ATTR_USE_CANDIDATE, b"");
        push_fingerprint(&mut msg);
        let request = parse_binding_request(&msg, "pw").unwrap();
        assert!(!request.use_candidate);
    }

    #[test]
    fn bad_attribute_values_are_malformed() {
        let short_priority = request(
            &[(ATTR_USERNAME, b"a:b"), (ATTR_PRIORITY, &[1, 2])],
            Some("pw"),
        );
        assert_eq!(
            parse_binding_request(&short_priority, "pw"),
            Err(StunError::Malformed("PRIORITY length"))
        );
        let bad_utf8 = request(&[(ATTR_USERNAME, &[0xff, 0xfe])], Some("pw"));
        assert_eq!(
            parse_binding_request(&bad_utf8, "pw"),
            Err(StunError::Malformed("USERNAME is not UTF-8"))
        );
        let mut after_fp = request(&[(ATTR_USERNAME, b"a:b")], Some("pw"));
        push_attribute(&mut after_fp, ATTR_PRIORITY, &[0, 0, 0, 1]);
        assert_eq!(
            parse_binding_request(&after_fp, "pw"),
            Err(StunError::Malformed("attribute after FINGERPRINT"))
        );
    }

    #[test]
    fn integrity_and_fingerprint_reproduce_the_rfc5769_responses() {
        for sample in [&RFC5769_RESPONSE_V4[..], &RFC5769_RESPONSE_V6[..]] {
            // Strip MESSAGE-INTEGRITY and FINGERPRINT, append ours.
            assert_eq!(reseal(sample, RFC5769_PWD), sample);
        }
    }

    #[test]
    fn integrity_and_fingerprint_reproduce_the_rfc5769_request() {
        assert_eq!(reseal(&RFC5769_REQUEST, RFC5769_PWD), RFC5769_REQUEST);
    }

    #[test]
    fn xor_mapped_address_matches_rfc5769() {
        // The sample's XOR-MAPPED-ADDRESS attribute, header included.
        let ours = binding_success(&RFC5769_TXID, v4_addr(), RFC5769_PWD);
        assert_eq!(&ours[20..32], &RFC5769_RESPONSE_V4[36..48]);
        let ours = binding_success(&RFC5769_TXID, v6_addr(), RFC5769_PWD);
        assert_eq!(&ours[20..44], &RFC5769_RESPONSE_V6[36..60]);
    }

    #[test]
    fn success_response_is_complete_and_verifiable() {
        let ours = binding_success(&RFC5769_TXID, v4_addr(), RFC5769_PWD);
        // Header, XOR-MAPPED-ADDRESS (12), MESSAGE-INTEGRITY (24), FINGERPRINT (8).
        assert_eq!(ours.len(), 20 + 12 + 24 + 8);
        assert_eq!(&ours[..4], &[0x01, 0x01, 0x00, 44]);
        assert_eq!(&ours[8..20], &RFC5769_TXID);
        // Our MI and FP are what the RFC's algorithm gives for our bytes.
        assert_eq!(reseal(&ours, RFC5769_PWD), ours);
    }

    #[test]
    fn a_v4_mapped_peer_is_answered_as_ipv4() {
        let mapped = SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().into(), 32853);
        let ours = binding_success(&RFC5769_TXID, mapped, RFC5769_PWD);
        assert_eq!(&ours[20..32], &RFC5769_RESPONSE_V4[36..48]);
    }

    #[test]
    fn error_response_carries_the_code() {
        let ours = binding_error(&RFC5769_TXID, 487, "Role Conflict", Some("pw"));
        assert_eq!(&ours[..2], &[0x01, 0x11]);
        let (kind, value) = attribute_at(&ours, HEADER_LEN).unwrap();
        assert_eq!(kind, ATTR_ERROR_CODE);
        assert_eq!(value, b"\0\0\x04\x57Role Conflict");
        // 13-byte reason padded to 16: ERROR-CODE is 4 + 4 + 16 bytes.
        let (kind, _) = attribute_at(&ours, HEADER_LEN + 24).unwrap();
        assert_eq!(kind, ATTR_MESSAGE_INTEGRITY);
        assert_eq!(reseal(&ours, "pw"), ours);
        assert_eq!(
            usize::from(u16::from_be_bytes([ours[2], ours[3]])),
            ours.len() - 20
        );
    }

    #[test]
    fn error_response_without_a_key_has_only_the_fingerprint() {
        let ours = binding_error(&RFC5769_TXID, 400, "Bad Request", None);
        assert_eq!(ours.len(), 20 + 4 + 16 + 8);
        let fp_at = ours.len() - 8;
        assert_eq!(attribute_at(&ours, fp_at).unwrap().0, ATTR_FINGERPRINT);
        assert_eq!(
            read_u32(&ours, fp_at + 4),
            Some(fingerprint(&ours[..fp_at]))
        );
        let (_, value) = attribute_at(&ours, HEADER_LEN).unwrap();
        assert_eq!(&value[..4], &[0, 0, 4, 0]);
    }

    #[test]
    fn our_responses_parse_as_stun_but_not_as_requests() {
        let ours = binding_success(&RFC5769_TXID, v6_addr(), "pw");
        assert_eq!(
            parse_binding_request(&ours, "pw"),
            Err(StunError::NotBindingRequest)
        );
        assert_eq!(
            crate::media::rtp::classify(&ours),
            crate::media::rtp::PacketKind::Stun
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            let _ = parse_binding_request(&bytes, "pw");
        }

        #[test]
        fn parse_never_panics_on_near_valid_requests(
            at in 0usize..108,
            xor in 1u8..=255,
            cut in 20usize..=108,
        ) {
            let mut msg = RFC5769_REQUEST.to_vec();
            msg[at] ^= xor;
            // Every byte is covered by the cookie, the length checks,
            // MESSAGE-INTEGRITY or FINGERPRINT, so no single changed byte
            // goes unnoticed — except FINGERPRINT's own type (bytes
            // 100..102): renamed, it is an attribute after
            // MESSAGE-INTEGRITY, which RFC 5389 §15.4 says to ignore, and
            // the request is still authentic.
            if !(100..102).contains(&at) {
                prop_assert!(parse_binding_request(&msg, RFC5769_PWD).is_err());
            }
            msg.truncate(cut);
            let _ = parse_binding_request(&msg, RFC5769_PWD);
        }

        #[test]
        fn built_requests_round_trip(
            username in "[a-zA-Z0-9+/]{1,32}:[a-zA-Z0-9+/]{1,32}",
            pwd in "[a-zA-Z0-9+/]{22,32}",
            tie in any::<u64>(),
            priority in any::<u32>(),
        ) {
            let msg = request(
                &[
                    (ATTR_USERNAME, username.as_bytes()),
                    (ATTR_ICE_CONTROLLING, &tie.to_be_bytes()),
                    (ATTR_PRIORITY, &priority.to_be_bytes()),
                ],
                Some(&pwd),
            );
            let parsed = parse_binding_request(&msg, &pwd).unwrap();
            prop_assert_eq!(parsed.username, username);
            prop_assert_eq!(parsed.ice_controlling, Some(tie));
            prop_assert_eq!(parsed.priority, Some(priority));
        }
    }
}
