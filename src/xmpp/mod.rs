//! The XMPP side: the XEP-0114 component link, service discovery, presence, JMI.
//!
//! - [`link`]: the component connection, with keepalive and reconnect; the only I/O here.
//! - [`service`]: pure answers to the gateway's own traffic (disco, version, ping, presence).
//! - [`presence`]: which devices of a user are online and whether they speak JMI.
//! - [`stanza`]: pure classification and construction of the stanzas the call core uses.

#[cfg(feature = "gateway")]
pub mod link;
pub mod presence;
pub mod service;
pub mod stanza;
