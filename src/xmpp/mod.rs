//! The XMPP side: the XEP-0114 component link, service discovery, presence, JMI.
