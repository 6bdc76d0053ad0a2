//! stox: a Jingle ⇄ SIP gateway.
//!
//! The library holds the pure core — [`translate`] (SDP ⇄ Jingle), the
//! [`jingle`] model, the wire [`reason`] vocabularies — that the `stox` binary
//! and, later, the gateway's adapters drive. See ARCHITECTURE.md.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod call;
pub mod config;
pub mod jingle;
pub mod reason;
pub mod routing;
pub mod runtime;
pub mod sip;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod translate;
pub mod xmpp;
