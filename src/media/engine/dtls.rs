//! DTLS-SRTP toward the XMPP client (RFC 5763 / 5764, XEP-0320).
//!
//! `dimpl` runs the handshake; this wrapper adds what it leaves to us: the
//! role from the negotiated `setup`, checking the client's certificate
//! against the fingerprint its description carried (a mismatch is a
//! man-in-the-middle and fails the leg), and turning the exported keying
//! material into SRTP contexts.

use crate::media::srtp::{SrtpContext, SrtpSuite, dtls_srtp_keys};
use dimpl::{Dtls, DtlsCertificate, Output, SrtpProfile};
use sha2::Digest;
use std::sync::Arc;
use std::time::Instant;

/// The gateway's DTLS identity: one self-signed certificate per process, its
/// fingerprint advertised in every description the anchor writes.
#[derive(Clone)]
pub struct Identity {
    /// Certificate and key (DER).
    pub certificate: DtlsCertificate,
    /// `sha-256 AB:CD:…`, as `a=fingerprint` writes it.
    pub fingerprint: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Identity {
    /// A fresh ECDSA P-256 self-signed certificate (what browsers use too).
    pub fn generate() -> Result<Self, String> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("DTLS key: {e}"))?;
        let params = rcgen::CertificateParams::new(vec!["stox".to_string()])
            .map_err(|e| format!("DTLS certificate: {e}"))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("DTLS certificate: {e}"))?;
        let der = cert.der().to_vec();
        let fingerprint = format!("sha-256 {}", hex_colons(&sha2::Sha256::digest(&der)));
        Ok(Identity {
            certificate: DtlsCertificate {
                certificate: der,
                private_key: key.serialize_der(),
            },
            fingerprint,
        })
    }
}

fn hex_colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether `der` matches one of the `a=fingerprint` values (`alg HEX`).
pub fn fingerprint_matches(der: &[u8], expected: &[String]) -> bool {
    expected.iter().any(|fp| {
        let Some((alg, hex)) = fp.trim().split_once(' ') else {
            return false;
        };
        let digest = match alg.to_ascii_lowercase().as_str() {
            "sha-1" => sha1::Sha1::digest(der).to_vec(),
            "sha-256" => sha2::Sha256::digest(der).to_vec(),
            "sha-384" => sha2::Sha384::digest(der).to_vec(),
            "sha-512" => sha2::Sha512::digest(der).to_vec(),
            _ => return false,
        };
        hex_colons(&digest).eq_ignore_ascii_case(hex.trim())
    })
}

/// SRTP contexts for one leg: protect what we send, unprotect what we get.
pub struct SrtpPair {
    /// For packets we send.
    pub tx: SrtpContext,
    /// For packets we receive.
    pub rx: SrtpContext,
}

/// What one step of the handshake produced.
#[derive(Default)]
pub struct Step {
    /// Records to send to the client.
    pub packets: Vec<Vec<u8>>,
    /// The SRTP keys, once the handshake completed and the certificate matched.
    pub keys: Option<SrtpPair>,
}

/// One DTLS association.
pub struct DtlsLeg {
    dtls: Dtls,
    active: bool,
    started: bool,
    remote_fingerprints: Vec<String>,
    cert_ok: bool,
    next_timeout: Option<Instant>,
    done: bool,
}

impl DtlsLeg {
    /// An association in the role `active` (DTLS client) or passive (server).
    pub fn new(
        identity: &Identity,
        active: bool,
        remote_fingerprints: Vec<String>,
        now: Instant,
    ) -> Self {
        let config = Arc::new(dimpl::Config::default());
        let mut dtls = Dtls::new_12(config, identity.certificate.clone(), now);
        dtls.set_active(active);
        DtlsLeg {
            dtls,
            active,
            started: !active,
            remote_fingerprints,
            cert_ok: false,
            next_timeout: None,
            done: false,
        }
    }

    /// Whether we are the DTLS client.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether the client hello has been sent (active) — passive legs wait.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Whether keys were exported.
    pub fn connected(&self) -> bool {
        self.done
    }

    /// When [`DtlsLeg::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.started && !self.done {
            self.next_timeout
        } else {
            None
        }
    }

    /// Sends the ClientHello (active role), once the client's address is known.
    pub fn start(&mut self, now: Instant) -> Result<Step, String> {
        self.started = true;
        self.dtls
            .handle_timeout(now)
            .map_err(|e| format!("DTLS: {e}"))?;
        self.drain()
    }

    /// One record from the client.
    pub fn handle_packet(&mut self, now: Instant, buf: &[u8]) -> Result<Step, String> {
        self.started = true;
        self.dtls
            .handle_timeout(now)
            .map_err(|e| format!("DTLS: {e}"))?;
        self.dtls
            .handle_packet(buf)
            .map_err(|e| format!("DTLS: {e}"))?;
        self.drain()
    }

    /// Retransmissions.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<Step, String> {
        if !self.started || self.done {
            return Ok(Step::default());
        }
        self.dtls
            .handle_timeout(now)
            .map_err(|e| format!("DTLS: {e}"))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<Step, String> {
        let mut step = Step::default();
        let mut buf = vec![0u8; 2048];
        loop {
            match self.dtls.poll_output(&mut buf) {
                Output::Packet(p) => step.packets.push(p.to_vec()),
                Output::BufferTooSmall { needed } => buf.resize(needed, 0),
                Output::Timeout(t) => {
                    self.next_timeout = Some(t);
                    break;
                }
                Output::PeerCert(der) => {
                    if !fingerprint_matches(der, &self.remote_fingerprints) {
                        return Err(
                            "the client's DTLS certificate does not match its fingerprint".into(),
                        );
                    }
                    self.cert_ok = true;
                }
                Output::KeyingMaterial(material, profile) => {
                    if !self.cert_ok {
                        return Err("DTLS keys before a verified certificate".into());
                    }
                    let suite = match profile {
                        SrtpProfile::AES128_CM_SHA1_80 => SrtpSuite::AesCm128HmacSha1_80,
                        SrtpProfile::AEAD_AES_128_GCM => SrtpSuite::AeadAes128Gcm,
                        SrtpProfile::AEAD_AES_256_GCM => SrtpSuite::AeadAes256Gcm,
                        other => {
                            return Err(format!(
                                "DTLS chose an SRTP profile we do not speak: {other:?}"
                            ));
                        }
                    };
                    let (tx, rx) = dtls_srtp_keys(&material, suite, self.active)
                        .map_err(|e| format!("DTLS-SRTP keys: {e}"))?;
                    step.keys = Some(SrtpPair {
                        tx: SrtpContext::new(&tx).map_err(|e| e.to_string())?,
                        rx: SrtpContext::new(&rx).map_err(|e| e.to_string())?,
                    });
                    self.done = true;
                }
                _ => {}
            }
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_checked_by_algorithm() {
        let id = Identity::generate().unwrap();
        let der = &id.certificate.certificate;
        assert!(fingerprint_matches(
            der,
            std::slice::from_ref(&id.fingerprint)
        ));
        assert!(fingerprint_matches(der, &[id.fingerprint.to_lowercase()]));
        assert!(!fingerprint_matches(
            b"other",
            std::slice::from_ref(&id.fingerprint)
        ));
        assert!(!fingerprint_matches(der, &["md5 00".into()]));
    }

    /// Two of our own legs complete a handshake and derive mirrored keys.
    #[test]
    fn handshake_between_two_legs() {
        let a = Identity::generate().unwrap();
        let b = Identity::generate().unwrap();
        let now = Instant::now();
        let mut client = DtlsLeg::new(&a, true, vec![b.fingerprint.clone()], now);
        let mut server = DtlsLeg::new(&b, false, vec![a.fingerprint.clone()], now);
        let mut to_server = client.start(now).unwrap().packets;
        let mut keys = (None, None);
        for _ in 0..10 {
            let mut to_client = Vec::new();
            for p in to_server.drain(..) {
                let step = server.handle_packet(now, &p).unwrap();
                to_client.extend(step.packets);
                if step.keys.is_some() {
                    keys.1 = step.keys;
                }
            }
            for p in to_client {
                let step = client.handle_packet(now, &p).unwrap();
                to_server.extend(step.packets);
                if step.keys.is_some() {
                    keys.0 = step.keys;
                }
            }
        }
        let (Some(mut c), Some(mut s)) = keys else {
            panic!("no keys");
        };
        let rtp = [0x80u8, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 1, 2, 3, 4];
        let protected = c.tx.protect_rtp(&rtp).unwrap();
        assert_eq!(s.rx.unprotect_rtp(&protected).unwrap(), rtp);
        let back = s.tx.protect_rtp(&rtp).unwrap();
        assert_eq!(c.rx.unprotect_rtp(&back).unwrap(), rtp);
    }

    #[test]
    fn a_wrong_fingerprint_fails_the_handshake() {
        let a = Identity::generate().unwrap();
        let b = Identity::generate().unwrap();
        let now = Instant::now();
        let mut client = DtlsLeg::new(&a, true, vec![a.fingerprint.clone()], now);
        let mut server = DtlsLeg::new(&b, false, vec![a.fingerprint.clone()], now);
        let mut to_server = client.start(now).unwrap().packets;
        let mut failed = false;
        for _ in 0..10 {
            let mut to_client = Vec::new();
            for p in to_server.drain(..) {
                to_client.extend(server.handle_packet(now, &p).unwrap().packets);
            }
            for p in to_client {
                match client.handle_packet(now, &p) {
                    Ok(step) => to_server.extend(step.packets),
                    Err(e) => {
                        assert!(e.contains("fingerprint"), "{e}");
                        failed = true;
                    }
                }
            }
        }
        assert!(
            failed,
            "the client accepted a certificate that is not the expected one"
        );
    }
}
