//! RFC 3263 §4 server location, as a pure function of DNS answers.
//!
//! Which records to ask for depends on earlier answers (NAPTR replacements name
//! SRV owners, SRV targets name hosts), so [`locate`] is called repeatedly with
//! the answers gathered so far: it returns [`Step::Need`] with the queries still
//! missing, or [`Step::Done`] with the ordered targets. The adapter
//! (`runtime::resolve`) performs the lookups; tests hand in answers directly.
//!
//! The rules, in RFC 3263's order:
//! - an IP literal, or an explicit port: A/AAAA only (no NAPTR, no SRV), with
//!   the written port or the transport's default;
//! - an explicit `;transport=`: SRV for that transport only, else A/AAAA;
//! - otherwise NAPTR (`SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, kept when we speak the
//!   transport, in order/preference order), their SRV replacements; without a
//!   usable NAPTR, SRV for each transport we speak; without SRV, A/AAAA over
//!   UDP (TLS for `sips:`) on the default port.
//!
//! SRV records are ordered per RFC 2782: by priority, then by weighted random
//! selection within a priority, with the randomness drawn from `seed`.

use super::peer::{Peer, Transport};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// A transport as RFC 3263 names it in NAPTR services and SRV owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SIP transport.
    pub transport: Transport,
    /// NAPTR service field (RFC 3263 §4.1).
    pub naptr: &'static str,
    /// SRV owner prefix, before the domain.
    pub srv: &'static str,
    /// Port when neither the URI nor SRV gives one.
    pub default_port: u16,
    /// Whether it may carry a `sips:` URI.
    pub secure: bool,
}

/// The transports we speak, in our order of preference when the DNS leaves
/// the choice to us. A new transport is one more row here.
pub const SERVICES: &[Service] = &[
    Service {
        transport: Transport::Udp,
        naptr: "SIP+D2U",
        srv: "_sip._udp",
        default_port: 5060,
        secure: false,
    },
    Service {
        transport: Transport::Tcp,
        naptr: "SIP+D2T",
        srv: "_sip._tcp",
        default_port: 5060,
        secure: false,
    },
    Service {
        transport: Transport::Tls,
        naptr: "SIPS+D2T",
        srv: "_sips._tcp",
        default_port: 5061,
        secure: true,
    },
];

/// The row of `transport`, if we speak it.
pub fn service(transport: Transport) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.transport == transport)
}

/// What the URI says about where to send (RFC 3263 §4's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// Host without IPv6 brackets.
    pub host: String,
    /// The port, when written in the URI.
    pub port: Option<u16>,
    /// The `;transport=`, when written.
    pub transport: Option<Transport>,
    /// A `sips:` URI (TLS only).
    pub sips: bool,
}

impl TargetSpec {
    /// The host as an IP address, when it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.trim_matches(['[', ']']).parse().ok()
    }
}

/// A NAPTR record (RFC 3403), the fields RFC 3263 uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower is processed first.
    pub order: u16,
    /// Among equal orders, lower first.
    pub preference: u16,
    /// `s` = the replacement is an SRV owner (the only flag SIP uses).
    pub flags: String,
    /// `SIP+D2U` and the like.
    pub services: String,
    /// The SRV owner name.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative share among equal priorities.
    pub weight: u16,
    /// Port of the service.
    pub port: u16,
    /// Host name; `.` means "no such service here".
    pub target: String,
}

/// The answer to one query: its records (empty for NXDOMAIN or no data) and
/// their smallest TTL in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet<T> {
    /// The records, in the order the server gave them.
    pub records: Vec<T>,
    /// Seconds they may be cached.
    pub ttl: u32,
}

impl<T> RecordSet<T> {
    /// An answer without records.
    pub fn empty() -> Self {
        RecordSet {
            records: Vec::new(),
            ttl: 0,
        }
    }
}

/// A DNS question [`locate`] needs answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// NAPTR records of a name.
    Naptr(String),
    /// SRV records of a name.
    Srv(String),
    /// A and AAAA records of a name.
    Addr(String),
}

/// Answers gathered so far, keyed by [`name_key`] of the owner name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// NAPTR answers.
    pub naptr: HashMap<String, RecordSet<Naptr>>,
    /// SRV answers.
    pub srv: HashMap<String, RecordSet<Srv>>,
    /// A and AAAA answers, A first.
    pub addrs: HashMap<String, RecordSet<IpAddr>>,
}

impl Answers {
    /// Records the answer to `query`; the record type must match the query.
    pub fn insert_naptr(&mut self, name: &str, set: RecordSet<Naptr>) {
        self.naptr.insert(name_key(name), set);
    }

    /// Records an SRV answer.
    pub fn insert_srv(&mut self, name: &str, set: RecordSet<Srv>) {
        self.srv.insert(name_key(name), set);
    }

    /// Records an A/AAAA answer.
    pub fn insert_addrs(&mut self, name: &str, set: RecordSet<IpAddr>) {
        self.addrs.insert(name_key(name), set);
    }
}

/// How a name is compared: lower case, without the root dot.
pub fn name_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Where the targets came from, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The host is an IP address.
    Literal,
    /// A/AAAA of the host (explicit port, or no NAPTR/SRV).
    Address,
    /// SRV records (explicit transport, or no usable NAPTR).
    Srv,
    /// NAPTR, then SRV.
    Naptr,
}

/// The outcome: targets in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Transport and address of each target, best first, without duplicates.
    pub targets: Vec<Peer>,
    /// Smallest TTL of the records used; `None` when no DNS record was used
    /// (an IP literal, or nothing found).
    pub ttl: Option<u32>,
    /// Which rule produced them.
    pub source: Source,
}

/// One step of location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// These answers are missing; insert them into [`Answers`] and call again.
    Need(Vec<Query>),
    /// Done: the targets (possibly none).
    Done(Located),
}

/// RFC 3263 §4 for `spec`, given the answers so far; `seed` drives the
/// RFC 2782 weighted choice, so the same inputs give the same order.
pub fn locate(spec: &TargetSpec, answers: &Answers, seed: u64) -> Step {
    let usable: Vec<&Service> = SERVICES
        .iter()
        .filter(|s| !spec.sips || s.secure)
        .filter(|s| spec.transport.is_none_or(|t| t == s.transport))
        .collect();
    // Our default when DNS does not choose: UDP for sip:, TLS for sips:
    // (RFC 3263 §4.1), or what the URI says.
    let Some(default) = usable.first().copied() else {
        return done(Vec::new(), None, Source::Literal);
    };
    if let Some(ip) = spec.ip() {
        let port = spec.port.unwrap_or(default.default_port);
        let peer = Peer {
            transport: default.transport,
            addr: SocketAddr::new(ip, port),
        };
        return done(vec![peer], None, Source::Literal);
    }
    if let Some(port) = spec.port {
        return by_address(&spec.host, default.transport, port, answers);
    }
    let mut ttl = Ttl::default();
    if spec.transport.is_none() {
        let Some(naptr) = answers.naptr.get(&name_key(&spec.host)) else {
            return Step::Need(vec![Query::Naptr(spec.host.clone())]);
        };
        // RFC 3263 §4.1: keep the records whose service we speak, in order,
        // then preference. `s` is the only flag SIP defines; others are not ours.
        let mut chosen: Vec<(&Naptr, &Service)> = naptr
            .records
            .iter()
            .filter(|n| n.flags.eq_ignore_ascii_case("s"))
            .filter_map(|n| {
                usable
                    .iter()
                    .find(|s| n.services.eq_ignore_ascii_case(s.naptr))
                    .map(|s| (n, *s))
            })
            .collect();
        chosen.sort_by_key(|(n, _)| (n.order, n.preference));
        if !chosen.is_empty() {
            ttl.add(naptr.ttl);
            let owners: Vec<(String, Transport)> = chosen
                .iter()
                .map(|(n, s)| (n.replacement.clone(), s.transport))
                .collect();
            match srv_targets(&owners, answers, seed, &mut ttl) {
                Err(need) => return Step::Need(need),
                Ok(targets) if !targets.is_empty() => {
                    return done(targets, ttl.min, Source::Naptr);
                }
                // NAPTRs that lead nowhere: on to SRV, as without them.
                Ok(_) => ttl = Ttl::default(),
            }
        }
    }
    let owners: Vec<(String, Transport)> = usable
        .iter()
        .map(|s| (format!("{}.{}", s.srv, spec.host), s.transport))
        .collect();
    match srv_targets(&owners, answers, seed, &mut ttl) {
        Err(need) => Step::Need(need),
        Ok(targets) if !targets.is_empty() => done(targets, ttl.min, Source::Srv),
        Ok(_) => by_address(&spec.host, default.transport, default.default_port, answers),
    }
}

/// Targets of the SRV records of `owners`, in owner order, each owner's
/// records in RFC 2782 order; `Err` lists the answers still missing.
fn srv_targets(
    owners: &[(String, Transport)],
    answers: &Answers,
    seed: u64,
    ttl: &mut Ttl,
) -> Result<Vec<Peer>, Vec<Query>> {
    let mut need = Vec::new();
    for (owner, _) in owners {
        if !answers.srv.contains_key(&name_key(owner)) {
            push_unique(&mut need, Query::Srv(owner.clone()));
        }
    }
    if !need.is_empty() {
        return Err(need);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ordered: Vec<(Transport, Srv)> = Vec::new();
    for (owner, transport) in owners {
        let set = &answers.srv[&name_key(owner)];
        if set.records.is_empty() {
            continue;
        }
        ttl.add(set.ttl);
        for srv in order_srv(&set.records, &mut rng) {
            // A lone "." target says the service is not offered (RFC 2782).
            if srv.target != "." && !srv.target.is_empty() {
                ordered.push((*transport, srv));
            }
        }
    }
    for (_, srv) in &ordered {
        if !answers.addrs.contains_key(&name_key(&srv.target)) {
            push_unique(&mut need, Query::Addr(srv.target.clone()));
        }
    }
    if !need.is_empty() {
        return Err(need);
    }
    let mut targets = Vec::new();
    for (transport, srv) in &ordered {
        let set = &answers.addrs[&name_key(&srv.target)];
        if !set.records.is_empty() {
            ttl.add(set.ttl);
        }
        for ip in &set.records {
            push_unique(
                &mut targets,
                Peer {
                    transport: *transport,
                    addr: SocketAddr::new(*ip, srv.port),
                },
            );
        }
    }
    Ok(targets)
}

fn by_address(host: &str, transport: Transport, port: u16, answers: &Answers) -> Step {
    let Some(set) = answers.addrs.get(&name_key(host)) else {
        return Step::Need(vec![Query::Addr(host.to_string())]);
    };
    let mut targets = Vec::new();
    for ip in &set.records {
        push_unique(
            &mut targets,
            Peer {
                transport,
                addr: SocketAddr::new(*ip, port),
            },
        );
    }
    let ttl = (!set.records.is_empty()).then_some(set.ttl);
    done(targets, ttl, Source::Address)
}

fn done(targets: Vec<Peer>, ttl: Option<u32>, source: Source) -> Step {
    Step::Done(Located {
        targets,
        ttl,
        source,
    })
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

#[derive(Default)]
struct Ttl {
    min: Option<u32>,
}

impl Ttl {
    fn add(&mut self, ttl: u32) {
        self.min = Some(self.min.map_or(ttl, |m| m.min(ttl)));
    }
}

/// RFC 2782's order: ascending priority; within one priority, repeatedly
/// pick a record with probability proportional to its weight (zero-weight
/// records placed first, so they are chosen only rarely, as the RFC says).
pub fn order_srv(records: &[Srv], rng: &mut impl Rng) -> Vec<Srv> {
    let mut sorted = records.to_vec();
    sorted.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(sorted.len());
    let mut start = 0;
    while start < sorted.len() {
        let priority = sorted[start].priority;
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|r| r.priority == priority)
                .count();
        let mut group: Vec<Srv> = sorted[start..end].to_vec();
        // Zero weights first (a stable partition keeps the server's order otherwise).
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.random_range(0..=total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(index));
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(host: &str, port: Option<u16>, transport: Option<Transport>) -> TargetSpec {
        TargetSpec {
            host: host.into(),
            port,
            transport,
            sips: false,
        }
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    fn naptr(order: u16, preference: u16, services: &str, replacement: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: "s".into(),
            services: services.into(),
            replacement: replacement.into(),
        }
    }

    fn set<T>(records: Vec<T>, ttl: u32) -> RecordSet<T> {
        RecordSet { records, ttl }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn udp(addr: &str) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: addr.parse().unwrap(),
        }
    }

    fn tcp(addr: &str) -> Peer {
        Peer {
            transport: Transport::Tcp,
            addr: addr.parse().unwrap(),
        }
    }

    /// Runs `locate` to the end the way the adapter does, answering every
    /// query from `answers` (a missing one answers "no records") and
    /// recording which were asked.
    fn run(spec: &TargetSpec, answers: &Answers, seed: u64) -> (Located, Vec<Query>) {
        let mut have = Answers::default();
        let mut asked = Vec::new();
        loop {
            match locate(spec, &have, seed) {
                Step::Done(l) => return (l, asked),
                Step::Need(qs) => {
                    assert!(!qs.is_empty());
                    for q in qs {
                        assert!(!asked.contains(&q), "asked twice: {q:?}");
                        match &q {
                            Query::Naptr(n) => have.insert_naptr(
                                n,
                                answers
                                    .naptr
                                    .get(&name_key(n))
                                    .cloned()
                                    .unwrap_or(RecordSet::empty()),
                            ),
                            Query::Srv(n) => have.insert_srv(
                                n,
                                answers
                                    .srv
                                    .get(&name_key(n))
                                    .cloned()
                                    .unwrap_or(RecordSet::empty()),
                            ),
                            Query::Addr(n) => have.insert_addrs(
                                n,
                                answers
                                    .addrs
                                    .get(&name_key(n))
                                    .cloned()
                                    .unwrap_or(RecordSet::empty()),
                            ),
                        }
                        asked.push(q);
                    }
                }
            }
        }
    }

    #[test]
    fn ip_literal_asks_nothing_and_uses_the_default_port() {
        let (l, asked) = run(&spec("192.0.2.1", None, None), &Answers::default(), 1);
        assert!(asked.is_empty());
        assert_eq!(l.targets, vec![udp("192.0.2.1:5060")]);
        assert_eq!((l.ttl, l.source), (None, Source::Literal));
        let (l, _) = run(
            &spec("[2001:db8::1]", Some(5080), Some(Transport::Tcp)),
            &Answers::default(),
            1,
        );
        assert_eq!(l.targets, vec![tcp("[2001:db8::1]:5080")]);
    }

    #[test]
    fn explicit_port_skips_naptr_and_srv() {
        let mut a = Answers::default();
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1", "192.0.2.2"]), 300));
        // SRV records exist but must not be used when a port is written.
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(vec![srv(0, 0, 5070, "x.test")], 1),
        );
        let (l, asked) = run(&spec("pbx.test", Some(5080), None), &a, 1);
        assert_eq!(asked, vec![Query::Addr("pbx.test".into())]);
        assert_eq!(
            l.targets,
            vec![udp("192.0.2.1:5080"), udp("192.0.2.2:5080")]
        );
        assert_eq!((l.ttl, l.source), (Some(300), Source::Address));
        let (l, _) = run(&spec("pbx.test", Some(5080), Some(Transport::Tcp)), &a, 1);
        assert_eq!(l.targets[0], tcp("192.0.2.1:5080"));
    }

    #[test]
    fn explicit_transport_uses_that_srv_only() {
        let mut a = Answers::default();
        a.insert_naptr(
            "pbx.test",
            set(vec![naptr(10, 10, "SIP+D2U", "_sip._udp.pbx.test.")], 60),
        );
        a.insert_srv(
            "_sip._tcp.pbx.test",
            set(vec![srv(10, 0, 5070, "a.pbx.test.")], 120),
        );
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(vec![srv(10, 0, 5071, "b.pbx.test.")], 120),
        );
        a.insert_addrs("a.pbx.test", set(ips(&["192.0.2.10"]), 600));
        let (l, asked) = run(&spec("pbx.test", None, Some(Transport::Tcp)), &a, 1);
        assert_eq!(
            asked,
            vec![
                Query::Srv("_sip._tcp.pbx.test".into()),
                Query::Addr("a.pbx.test.".into())
            ]
        );
        assert_eq!(l.targets, vec![tcp("192.0.2.10:5070")]);
        assert_eq!((l.ttl, l.source), (Some(120), Source::Srv));
    }

    #[test]
    fn explicit_transport_without_srv_falls_back_to_addresses() {
        let mut a = Answers::default();
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1"]), 30));
        let (l, _) = run(&spec("pbx.test", None, Some(Transport::Tcp)), &a, 1);
        assert_eq!(l.targets, vec![tcp("192.0.2.1:5060")]);
        assert_eq!(l.source, Source::Address);
    }

    #[test]
    fn naptr_order_and_preference_then_srv() {
        let mut a = Answers::default();
        a.insert_naptr(
            "pbx.test",
            set(
                vec![
                    naptr(20, 10, "SIP+D2U", "_sip._udp.pbx.test."),
                    naptr(10, 20, "SIP+D2T", "_sip._tcp.pbx.test."),
                    // Same order, better preference: first.
                    naptr(10, 10, "SIP+D2U", "_sip._udp.alt.test."),
                    // Not ours (WebSocket and SCTP are not spoken, a non-s flag).
                    naptr(1, 1, "SIP+D2W", "_sip._ws.pbx.test."),
                    naptr(1, 1, "SIP+D2S", "_sip._sctp.pbx.test."),
                    Naptr {
                        flags: "a".into(),
                        ..naptr(1, 1, "SIP+D2U", "x.test.")
                    },
                ],
                3600,
            ),
        );
        a.insert_srv(
            "_sip._udp.alt.test",
            set(vec![srv(0, 0, 5062, "alt.test.")], 900),
        );
        a.insert_srv(
            "_sip._tcp.pbx.test",
            set(vec![srv(0, 0, 5061, "t.pbx.test.")], 900),
        );
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(vec![srv(0, 0, 5060, "u.pbx.test.")], 100),
        );
        a.insert_addrs("alt.test", set(ips(&["192.0.2.3"]), 900));
        a.insert_addrs("t.pbx.test", set(ips(&["192.0.2.2"]), 900));
        a.insert_addrs("u.pbx.test", set(ips(&["192.0.2.1"]), 900));
        let (l, asked) = run(&spec("pbx.test", None, None), &a, 1);
        assert_eq!(asked[0], Query::Naptr("pbx.test".into()));
        assert!(!asked.contains(&Query::Srv("_sip._ws.pbx.test.".into())));
        assert_eq!(
            l.targets,
            vec![
                udp("192.0.2.3:5062"),
                tcp("192.0.2.2:5061"),
                udp("192.0.2.1:5060")
            ]
        );
        assert_eq!((l.ttl, l.source), (Some(100), Source::Naptr));
    }

    #[test]
    fn no_naptr_tries_srv_for_each_transport_we_speak() {
        let mut a = Answers::default();
        a.insert_srv(
            "_sip._tcp.pbx.test",
            set(vec![srv(0, 0, 5070, "pbx.test.")], 300),
        );
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1"]), 300));
        let (l, asked) = run(&spec("pbx.test", None, None), &a, 1);
        assert_eq!(
            &asked[..3],
            &[
                Query::Naptr("pbx.test".into()),
                Query::Srv("_sip._udp.pbx.test".into()),
                Query::Srv("_sip._tcp.pbx.test".into()),
            ]
        );
        assert_eq!(l.targets, vec![tcp("192.0.2.1:5070")]);
        assert_eq!(l.source, Source::Srv);
    }

    #[test]
    fn unusable_naptr_falls_back_to_srv() {
        let mut a = Answers::default();
        a.insert_naptr(
            "pbx.test",
            set(vec![naptr(10, 10, "SIPS+D2T", "_sips._tcp.pbx.test.")], 60),
        );
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(vec![srv(0, 0, 5070, "pbx.test.")], 300),
        );
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1"]), 300));
        let (l, _) = run(&spec("pbx.test", None, None), &a, 1);
        assert_eq!(l.targets, vec![udp("192.0.2.1:5070")]);
    }

    #[test]
    fn nothing_but_addresses_means_udp_5060() {
        let mut a = Answers::default();
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1", "2001:db8::1"]), 45));
        let (l, _) = run(&spec("pbx.test", None, None), &a, 1);
        assert_eq!(
            l.targets,
            vec![udp("192.0.2.1:5060"), udp("[2001:db8::1]:5060")]
        );
        assert_eq!((l.ttl, l.source), (Some(45), Source::Address));
    }

    #[test]
    fn nothing_at_all_is_an_empty_list() {
        let (l, _) = run(&spec("nowhere.test", None, None), &Answers::default(), 1);
        assert!(l.targets.is_empty());
        assert_eq!(l.ttl, None);
    }

    #[test]
    fn srv_dot_target_and_targets_without_addresses_are_skipped() {
        let mut a = Answers::default();
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(
                vec![
                    srv(0, 0, 5060, "."),
                    srv(1, 0, 5060, "gone.test."),
                    srv(2, 0, 5062, "b.test."),
                ],
                300,
            ),
        );
        a.insert_addrs("b.test", set(ips(&["192.0.2.2"]), 300));
        let (l, _) = run(&spec("pbx.test", None, Some(Transport::Udp)), &a, 1);
        assert_eq!(l.targets, vec![udp("192.0.2.2:5062")]);
    }

    #[test]
    fn srv_priority_comes_first_whatever_the_weight() {
        let records = vec![
            srv(20, 1000, 1, "c."),
            srv(10, 0, 2, "a."),
            srv(15, 65535, 3, "b."),
        ];
        for seed in 0..50 {
            let order: Vec<u16> = order_srv(&records, &mut StdRng::seed_from_u64(seed))
                .iter()
                .map(|r| r.port)
                .collect();
            assert_eq!(order, vec![2, 3, 1]);
        }
    }

    #[test]
    fn srv_weights_share_the_first_place() {
        let records = vec![
            srv(10, 90, 1, "heavy."),
            srv(10, 10, 2, "light."),
            srv(10, 0, 3, "zero."),
        ];
        let mut first = [0u32; 4];
        let mut rng = StdRng::seed_from_u64(42);
        for _ in 0..10_000 {
            let order = order_srv(&records, &mut rng);
            assert_eq!(order.len(), 3);
            first[usize::from(order[0].port)] += 1;
        }
        // 90/101, 10/101 and 1/101 of the time, give or take.
        assert!((8500..9300).contains(&first[1]), "{first:?}");
        assert!((700..1300).contains(&first[2]), "{first:?}");
        assert!((20..250).contains(&first[3]), "{first:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_order() {
        let mut a = Answers::default();
        a.insert_srv(
            "_sip._udp.pbx.test",
            set(
                (1..=5).map(|i| srv(0, 10, 5060 + i, "pbx.test.")).collect(),
                300,
            ),
        );
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.1"]), 300));
        let s = spec("pbx.test", None, Some(Transport::Udp));
        assert_eq!(run(&s, &a, 9).0, run(&s, &a, 9).0);
        let orders: std::collections::HashSet<Vec<Peer>> =
            (0..20).map(|seed| run(&s, &a, seed).0.targets).collect();
        assert!(orders.len() > 1, "the seed must matter");
    }

    #[test]
    fn sips_takes_only_tls_records_then_tls_on_5061() {
        let s = TargetSpec {
            sips: true,
            ..spec("pbx.test", None, None)
        };
        let mut a = Answers::default();
        a.insert_naptr(
            "pbx.test",
            set(
                vec![
                    naptr(10, 10, "SIP+D2U", "_sip._udp.pbx.test."),
                    naptr(20, 10, "SIPS+D2T", "_sips._tcp.pbx.test."),
                ],
                3600,
            ),
        );
        a.insert_srv(
            "_sips._tcp.pbx.test",
            set(vec![srv(0, 0, 5071, "t.pbx.test.")], 900),
        );
        a.insert_addrs("t.pbx.test", set(ips(&["192.0.2.2"]), 900));
        let (l, asked) = run(&s, &a, 1);
        assert!(!asked.contains(&Query::Srv("_sip._udp.pbx.test.".into())));
        let tls = |a: &str| Peer {
            transport: Transport::Tls,
            addr: a.parse().unwrap(),
        };
        assert_eq!(l.targets, vec![tls("192.0.2.2:5071")]);
        // No NAPTR or SRV at all: the host's address, TLS on 5061.
        let mut a = Answers::default();
        a.insert_addrs("pbx.test", set(ips(&["192.0.2.9"]), 300));
        assert_eq!(run(&s, &a, 1).0.targets, vec![tls("192.0.2.9:5061")]);
    }
}
