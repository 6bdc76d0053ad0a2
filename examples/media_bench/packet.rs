//! The benchmark's G.711 packets: 12-byte RTP header + 160 bytes of PCMU
//! (20 ms at 8 kHz) = 172 bytes, the payload starting with a marker, the
//! call, the direction and the send time, so the receiving end can measure
//! one-way latency on the same process clock and tell misrouted packets.

use std::time::Instant;

/// RTP header + 20 ms of PCMU.
pub const RTP_LEN: usize = 12 + 160;
const MAGIC: &[u8; 4] = b"STXB";

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Sent by the XMPP client, received by the SIP phone.
    XmppToSip = 0,
    /// Sent by the SIP phone, received by the XMPP client.
    SipToXmpp = 1,
}

/// One sender's RTP state.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    /// SSRC.
    pub ssrc: u32,
    /// Next sequence number.
    pub seq: u16,
    /// Next timestamp.
    pub ts: u32,
}

impl Stream {
    /// A stream with a fixed SSRC (call and direction in it, for reading traces).
    pub fn new(call: u32, dir: Dir) -> Self {
        Stream {
            ssrc: (call << 1) | dir as u32 | 0x5000_0000,
            seq: (call as u16).wrapping_mul(7919),
            ts: call.wrapping_mul(104_729),
        }
    }

    /// Writes the next packet into `out` with `sent_ns` in the payload.
    pub fn next(&mut self, call: u32, dir: Dir, sent_ns: u64, out: &mut [u8; RTP_LEN]) {
        out[0] = 0x80;
        out[1] = 0; // PCMU
        out[2..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..8].copy_from_slice(&self.ts.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        out[12..16].copy_from_slice(MAGIC);
        out[16..20].copy_from_slice(&call.to_be_bytes());
        out[20] = dir as u8;
        out[21..29].copy_from_slice(&sent_ns.to_be_bytes());
        out[29..].fill(0xff); // PCMU silence
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
    }
}

/// What a received (plain) packet says: call, direction, send time.
pub fn read(packet: &[u8]) -> Option<(u32, u8, u64)> {
    if packet.len() < 29 || &packet[12..16] != MAGIC {
        return None;
    }
    let call = u32::from_be_bytes(packet[16..20].try_into().ok()?);
    let sent = u64::from_be_bytes(packet[21..29].try_into().ok()?);
    Some((call, packet[20], sent))
}

/// Nanoseconds since `epoch` (the process clock both ends share).
pub fn ns_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
