//! stox: a Jingle ⇄ SIP gateway.
//!
//! The library holds the pure core — [`translate`] (SDP ⇄ Jingle), the
//! [`jingle`] model, the wire [`reason`] vocabularies — that the `stox` binary
//! and, later, the gateway's adapters drive. See ARCHITECTURE.md.
//!
//! The I/O modules (`runtime`, `tls`, `telemetry`, `xmpp::link`) and their
//! dependencies are behind the default `gateway` feature; without it
//! (`default-features = false`, as fuzz/ builds it) the library is the
//! sans-IO core alone.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod call;
pub mod config;
pub mod jingle;
pub mod media;
pub mod reason;
pub mod routing;
#[cfg(feature = "gateway")]
pub mod runtime;
pub mod sip;
#[cfg(feature = "gateway")]
pub mod store;
#[cfg(feature = "gateway")]
pub mod telemetry;
#[cfg(feature = "gateway")]
pub mod tls;
pub mod translate;
pub mod xmpp;
