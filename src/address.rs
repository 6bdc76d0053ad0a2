//! Addresses across the gateway: JID ⇄ SIP/tel URI (RFC 7247, XEP-0106, E.164).
