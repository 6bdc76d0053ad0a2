//! `[media]` and the trunks' `media` / `srtp`: how calls carry their media,
//! and where the anchor listens and what it advertises.

use super::raw::RawMedia;
use super::validate::Check;
use super::{Config, ConfigError, MediaConfig, MediaMode, SipConfig, SipSrtp, TrunkConfig};
use crate::address::split_hostport;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const DEFAULT_PORT_RANGE: (u16, u16) = (20_000, 29_999);
const DEFAULT_INACTIVITY_SECS: u64 = 60;
/// Ports below this are privileged or well known; an anchor has no business there.
const LOWEST_PORT: u16 = 1024;
/// RTP and RTCP for two legs: fewer ports cannot carry even one call.
const FEWEST_PORTS: u32 = 4;

/// Reads a mode as written in `[media] mode` or a trunk's `media`.
pub(super) fn mode(c: &Check, key: &str, text: &str) -> Result<MediaMode, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "passthrough" => Ok(MediaMode::Passthrough),
        "embedded" => Ok(MediaMode::Embedded),
        "rtpengine" => Ok(MediaMode::Rtpengine),
        _ => Err(c.err(
            key,
            format!("{text:?} is not passthrough, embedded or rtpengine"),
        )),
    }
}

/// Reads a trunk's `srtp`.
pub(super) fn srtp(c: &Check, key: &str, text: Option<String>) -> Result<SipSrtp, ConfigError> {
    let Some(text) = text else {
        return Ok(SipSrtp::None);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(SipSrtp::None),
        "sdes" => Ok(SipSrtp::Sdes),
        _ => Err(c.err(key, format!("{text:?} is not none or sdes"))),
    }
}

/// `[media]`, checked against the SIP identity (for the default public IP)
/// and the trunks (one in rtpengine mode needs the control socket).
pub(super) fn media(
    c: &Check,
    raw: RawMedia,
    sip: &SipConfig,
    trunks: &[TrunkConfig],
) -> Result<MediaConfig, ConfigError> {
    let mode = match raw.mode {
        Some(text) => mode(c, "media.mode", &text)?,
        None => MediaMode::default(),
    };
    let bind = match raw.bind {
        Some(text) => ip(c, "media.bind", &text)?,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let public_ip = match raw.public_ip {
        Some(text) => {
            let addr = ip(c, "media.public_ip", &text)?;
            if addr.is_unspecified() {
                return Err(c.err(
                    "media.public_ip",
                    format!("{text:?} is no address peers can send media to"),
                ));
            }
            addr
        }
        None => default_public_ip(bind, &sip.public_address),
    };
    let port_range = match raw.port_range {
        Some(text) => port_range(c, &text)?,
        None => DEFAULT_PORT_RANGE,
    };
    let rtpengine = match raw.rtpengine.filter(|t| !t.trim().is_empty()) {
        Some(text) => Some(rtpengine(c, &text)?),
        None => None,
    };
    if rtpengine.is_none() {
        if mode == MediaMode::Rtpengine {
            return Err(c.err(
                "media.rtpengine",
                "is required when media.mode is rtpengine",
            ));
        }
        if let Some(i) = trunks
            .iter()
            .position(|t| t.media == Some(MediaMode::Rtpengine))
        {
            return Err(c.err(
                "media.rtpengine",
                format!("is required when trunk[{i}].media is rtpengine"),
            ));
        }
    }
    Ok(MediaConfig {
        mode,
        bind,
        public_ip,
        port_range,
        rtpengine,
        inactivity_secs: raw.inactivity_secs.unwrap_or(DEFAULT_INACTIVITY_SECS),
    })
}

fn ip(c: &Check, key: &str, text: &str) -> Result<IpAddr, ConfigError> {
    text.trim()
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| c.err(key, format!("{text:?} is not an IP address")))
}

/// `bind` when it names an interface; else the SIP address when that is an
/// IP (the usual case: one public address for both); else loopback, which
/// [`warnings`] points out.
fn default_public_ip(bind: IpAddr, public_address: &str) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    sip_ip(public_address).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The IP of `[sip] public_address`, when it is one (not a host name).
fn sip_ip(public_address: &str) -> Option<IpAddr> {
    let (host, _) = split_hostport(public_address).ok()?;
    host.trim_matches(['[', ']']).parse().ok()
}

/// `LO-HI`, inclusive, both ≥ 1024, at least four ports.
fn port_range(c: &Check, text: &str) -> Result<(u16, u16), ConfigError> {
    let key = "media.port_range";
    let bad = || c.err(key, format!("{text:?} is not LOW-HIGH (e.g. 20000-29999)"));
    let (lo, hi) = text.trim().split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo > hi {
        return Err(c.err(key, format!("{text:?}: {lo} is above {hi}")));
    }
    if lo < LOWEST_PORT {
        return Err(c.err(
            key,
            format!("{text:?}: ports below {LOWEST_PORT} are reserved"),
        ));
    }
    if u32::from(hi) - u32::from(lo) + 1 < FEWEST_PORTS {
        return Err(c.err(
            key,
            format!(
                "{text:?}: at least {FEWEST_PORTS} ports are needed (RTP and RTCP of two legs)"
            ),
        ));
    }
    Ok((lo, hi))
}

/// `udp:ADDR:PORT` (or `ADDR:PORT`): rtpengine's ng control socket.
fn rtpengine(c: &Check, text: &str) -> Result<SocketAddr, ConfigError> {
    let trimmed = text.trim();
    let addr = match trimmed.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("udp") => rest,
        _ => trimmed,
    };
    addr.parse().map_err(|_| {
        c.err(
            "media.rtpengine",
            format!("{text:?} is not udp:ADDR:PORT (e.g. udp:127.0.0.1:2223)"),
        )
    })
}

/// Valid but probably unintended media settings.
pub(super) fn warnings(config: &Config) -> Vec<String> {
    let media = &config.media;
    let anchored = media.mode != MediaMode::Passthrough
        || config
            .trunks
            .iter()
            .any(|t| t.media.is_some_and(|m| m != MediaMode::Passthrough));
    let mut out = Vec::new();
    // The SIP loopback warning already covers an IP public_address; this is
    // the case where the media address had nothing better to fall back on.
    if anchored
        && media.bind.is_unspecified()
        && media.public_ip.is_loopback()
        && sip_ip(&config.sip.public_address).is_none()
    {
        out.push(format!(
            "media.public_ip: {} is a loopback address (sip.public_address names no IP to default to); peers on other hosts cannot send media to it",
            media.public_ip
        ));
    }
    out
}
