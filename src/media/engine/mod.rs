//! The embedded media anchor: ICE-lite + DTLS-SRTP toward XMPP clients,
//! plain RTP or SDES-SRTP toward SIP, relayed packet by packet.
//!
//! Sans-IO like the call core: [`negotiate`] turns SDP into SDP and a
//! [`relay::RelayPlan`]; [`relay::Relay`] turns datagrams into datagrams.
//! `runtime::media` binds the ports and runs each relay on its sockets.

pub mod counters;
pub mod dtls;
pub mod dtmf;
pub mod ice;
pub mod negotiate;
pub mod relay;
pub mod sdp;
pub mod stats;
