//! A trunk's `dtmf`: how digits an XMPP user types (XEP-0181) reach the
//! trunk.

use super::ConfigError;
use super::validate::Check;
use serde::{Deserialize, Serialize};

/// How DTMF from XMPP goes toward a trunk (`[[trunk]] dtmf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DtmfMode {
    /// RFC 4733 events injected by the embedded anchor when the SIP leg
    /// negotiated telephone-event, else SIP INFO: what a trunk hears is
    /// then the standard form whenever the gateway can produce it.
    #[default]
    Auto,
    /// Always SIP INFO (`application/dtmf-relay`): for PBXs that read
    /// digits only from INFO, or calls whose media we do not carry.
    Info,
    /// Only RFC 4733 events; a digit that cannot go in-band is refused
    /// (XEP-0181 `<feature-not-implemented/>`), never sent as INFO: for
    /// trunks that would act on a digit twice or answer INFO with 501.
    Rfc4733,
}

/// Reads a trunk's `dtmf`.
pub(super) fn dtmf(c: &Check, key: &str, text: Option<String>) -> Result<DtmfMode, ConfigError> {
    let Some(text) = text else {
        return Ok(DtmfMode::Auto);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(DtmfMode::Auto),
        "info" => Ok(DtmfMode::Info),
        "rfc4733" => Ok(DtmfMode::Rfc4733),
        _ => Err(c.err(key, format!("{text:?} is not auto, info or rfc4733"))),
    }
}
