//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966).
