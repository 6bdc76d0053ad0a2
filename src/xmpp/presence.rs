//! What the gateway knows about XMPP users' devices: which resources are online
//! (from the presence they send to gateway JIDs) and, through XEP-0115 caps and
//! disco#info, whether each speaks XEP-0353 Jingle Message Initiation.
//!
//! Why: JMI is offered to the bare JID, which reaches every JMI client; a device
//! that only speaks plain Jingle never sees it. When everything we know about a
//! user says "online, Jingle, but no JMI", the inbound call goes to that device
//! with a direct session-initiate instead (XEP-0353 §3.2's fallback). With no
//! presence (the user never added a gateway contact) JMI is the only option.

use minidom::Element;
use std::collections::HashMap;

const NS_CAPS: &str = "http://jabber.org/protocol/caps";
const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const NS_JMI: &str = "urn:xmpp:jingle-message:0";
const NS_JINGLE_RTP: &str = "urn:xmpp:jingle:apps:rtp:1";

/// What a device can do, as far as calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFeatures {
    /// Advertises XEP-0353.
    pub jmi: bool,
    /// Advertises XEP-0167 RTP sessions.
    pub jingle_rtp: bool,
}

/// How to ring a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingPlan {
    /// Send a JMI propose to the bare JID (the default).
    Propose,
    /// Send session-initiate straight to this full JID: the only devices we
    /// know of speak Jingle but not JMI.
    Direct(String),
}

#[derive(Debug, Clone)]
struct Device {
    caps: Option<(String, String)>,
    priority: i8,
}

/// Devices by bare JID, and what caps versions mean.
#[derive(Debug, Default)]
pub struct PresenceBook {
    devices: HashMap<String, HashMap<String, Device>>,
    known: HashMap<String, CallFeatures>,
    asked: HashMap<String, String>,
}

/// A disco#info query the book wants sent (to learn what a caps version means).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoQuery {
    /// The device to ask.
    pub to: String,
    /// The `node#ver` to ask about.
    pub node: String,
    /// The IQ id to use, so the answer can be matched.
    pub id: String,
}

impl PresenceBook {
    /// Records a presence stanza addressed to a gateway JID. Returns a disco
    /// query to send when the device's caps version is new to us.
    pub fn observe(&mut self, presence: &Element) -> Option<DiscoQuery> {
        let from = presence.attr("from")?;
        let (bare, resource) = from.split_once('/')?;
        let bare = bare.to_ascii_lowercase();
        match presence.attr("type") {
            None => {}
            Some("unavailable") => {
                if let Some(devices) = self.devices.get_mut(&bare) {
                    devices.remove(resource);
                    if devices.is_empty() {
                        self.devices.remove(&bare);
                    }
                }
                return None;
            }
            Some(_) => return None,
        }
        let caps = presence
            .children()
            .find(|c| c.is("c", NS_CAPS))
            .and_then(|c| Some((c.attr("node")?.to_string(), c.attr("ver")?.to_string())));
        let priority = presence
            .children()
            .find(|c| c.name() == "priority")
            .and_then(|p| p.text().trim().parse::<i8>().ok())
            .unwrap_or(0);
        self.devices.entry(bare).or_default().insert(
            resource.to_string(),
            Device {
                caps: caps.clone(),
                priority,
            },
        );
        let (node, ver) = caps?;
        if self.known.contains_key(&ver) || self.asked.values().any(|v| *v == ver) {
            return None;
        }
        let id = format!("caps-{}", self.asked.len() + self.known.len());
        self.asked.insert(id.clone(), ver.clone());
        Some(DiscoQuery {
            to: from.to_string(),
            node: format!("{node}#{ver}"),
            id,
        })
    }

    /// Records the answer to one of our disco queries; false if it was not ours.
    pub fn learn(&mut self, result: &Element) -> bool {
        let Some(id) = result.attr("id") else {
            return false;
        };
        let Some(ver) = self.asked.remove(id) else {
            return false;
        };
        let features: Vec<&str> = result
            .children()
            .filter(|q| q.is("query", NS_DISCO_INFO))
            .flat_map(|q| q.children())
            .filter(|f| f.name() == "feature")
            .filter_map(|f| f.attr("var"))
            .collect();
        if result.attr("type") == Some("result") {
            self.known.insert(
                ver,
                CallFeatures {
                    jmi: features.contains(&NS_JMI),
                    jingle_rtp: features.contains(&NS_JINGLE_RTP),
                },
            );
        }
        true
    }

    /// How to ring `bare`: directly only when every online device is known and
    /// none speaks JMI; then the highest-priority Jingle RTP device.
    pub fn ring_plan(&self, bare: &str) -> RingPlan {
        let Some(devices) = self.devices.get(&bare.to_ascii_lowercase()) else {
            return RingPlan::Propose;
        };
        let mut direct: Option<(&String, i8)> = None;
        for (resource, device) in devices {
            let Some(features) = device
                .caps
                .as_ref()
                .and_then(|(_, ver)| self.known.get(ver))
            else {
                return RingPlan::Propose; // unknown device: JMI may reach it
            };
            if features.jmi {
                return RingPlan::Propose;
            }
            if features.jingle_rtp && direct.is_none_or(|(_, p)| device.priority > p) {
                direct = Some((resource, device.priority));
            }
        }
        match direct {
            Some((resource, _)) => RingPlan::Direct(format!("{bare}/{resource}")),
            None => RingPlan::Propose,
        }
    }

    /// The disco#info IQ for a query, from the gateway JID the presence was sent to.
    pub fn disco_iq(query: &DiscoQuery, from: &str) -> Element {
        let mut q = crate::xmpp::stanza::el("query", NS_DISCO_INFO);
        crate::xmpp::stanza::set(&mut q, "node", &query.node);
        let mut iq = crate::xmpp::stanza::el("iq", crate::xmpp::stanza::NS_COMPONENT);
        crate::xmpp::stanza::set(&mut iq, "type", "get");
        crate::xmpp::stanza::set(&mut iq, "id", &query.id);
        crate::xmpp::stanza::set(&mut iq, "from", from);
        crate::xmpp::stanza::set(&mut iq, "to", &query.to);
        iq.append_child(q);
        iq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(from: &str, ver: Option<&str>, extra: &str) -> Element {
        let caps = ver
            .map(|v| {
                format!(
                    "<c xmlns='{NS_CAPS}' hash='sha-1' node='https://client.example' ver='{v}'/>"
                )
            })
            .unwrap_or_default();
        format!("<presence xmlns='jabber:component:accept' from='{from}' to='+1@gw' {extra}>{caps}</presence>")
            .parse()
            .unwrap()
    }

    fn disco_result(id: &str, features: &[&str]) -> Element {
        let f: String = features
            .iter()
            .map(|f| format!("<feature var='{f}'/>"))
            .collect();
        format!("<iq xmlns='jabber:component:accept' type='result' id='{id}'><query xmlns='{NS_DISCO_INFO}'>{f}</query></iq>")
            .parse()
            .unwrap()
    }

    #[test]
    fn no_presence_means_propose() {
        assert_eq!(
            PresenceBook::default().ring_plan("bob@test"),
            RingPlan::Propose
        );
    }

    #[test]
    fn a_known_jingle_only_device_is_called_directly() {
        let mut book = PresenceBook::default();
        let q = book
            .observe(&presence("bob@test/old", Some("v1"), ""))
            .unwrap();
        assert_eq!(q.node, "https://client.example#v1");
        assert_eq!(
            book.ring_plan("bob@test"),
            RingPlan::Propose,
            "unknown until disco answers"
        );
        assert!(book.learn(&disco_result(&q.id, &[NS_JINGLE_RTP])));
        assert_eq!(
            book.ring_plan("bob@test"),
            RingPlan::Direct("bob@test/old".into())
        );
        // Same caps on another device: no second query.
        assert!(
            book.observe(&presence("bob@test/old2", Some("v1"), ""))
                .is_none()
        );
    }

    #[test]
    fn any_jmi_device_or_unknown_device_means_propose() {
        let mut book = PresenceBook::default();
        let q1 = book
            .observe(&presence("bob@test/old", Some("v1"), ""))
            .unwrap();
        book.learn(&disco_result(&q1.id, &[NS_JINGLE_RTP]));
        let q2 = book
            .observe(&presence("bob@test/new", Some("v2"), ""))
            .unwrap();
        book.learn(&disco_result(&q2.id, &[NS_JINGLE_RTP, NS_JMI]));
        assert_eq!(book.ring_plan("bob@test"), RingPlan::Propose);
        book.observe(&presence("bob@test/new", None, "type='unavailable'"));
        assert_eq!(
            book.ring_plan("bob@test"),
            RingPlan::Direct("bob@test/old".into())
        );
        book.observe(&presence("bob@test/nocaps", None, ""));
        assert_eq!(book.ring_plan("bob@test"), RingPlan::Propose);
    }

    #[test]
    fn answers_that_are_not_ours_are_ignored() {
        let mut book = PresenceBook::default();
        assert!(!book.learn(&disco_result("other", &[NS_JMI])));
    }
}
