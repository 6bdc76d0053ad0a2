//! RFC 3263 location of trunks over real DNS: the lookups that
//! [`crate::sip::locate`] asks for, done with hickory-resolver, and the task
//! that locates each trunk again when its records expire or when the core
//! reports that every target failed ([`Output::ResolveTrunk`]).
//!
//! [`Output::ResolveTrunk`]: crate::call::Output::ResolveTrunk

use crate::call::Input;
use crate::config::{Config, Listen, ListenTransport};
use crate::sip::locate::{
    self, Answers, Located, Naptr, Query, RecordSet, Source, Srv, Step, TargetSpec,
};
use crate::sip::peer::{Peer, Transport};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Records are looked up again no sooner than this after they were read…
pub const MIN_REFRESH: Duration = Duration::from_secs(60);
/// …and no later than this, whatever their TTL.
pub const MAX_REFRESH: Duration = Duration::from_secs(3600);
/// A trunk is not located again sooner than this after its last location,
/// however often its targets fail.
const MIN_RETRY: Duration = Duration::from_secs(5);
/// Passes of [`locate::locate`] per location (NAPTR, SRV, A/AAAA: three
/// suffice; more only if the answers keep changing).
const MAX_PASSES: usize = 8;

/// Looks up what [`locate::locate`] needs.
pub struct Locator {
    resolver: Option<TokioResolver>,
}

impl Locator {
    /// A locator asking `dns_servers` (UDP, then TCP for long answers), or
    /// the system's resolvers (`/etc/resolv.conf`) when the list is empty.
    /// Without a usable configuration it still locates IP literals.
    pub fn new(dns_servers: &[SocketAddr]) -> Locator {
        let builder = if dns_servers.is_empty() {
            match TokioResolver::builder_tokio() {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!(error = %e, "no system DNS configuration; only IP trunks will resolve");
                    None
                }
            }
        } else {
            let servers = dns_servers
                .iter()
                .map(|s| {
                    let mut ns = NameServerConfig::udp_and_tcp(s.ip());
                    for c in &mut ns.connections {
                        c.port = s.port();
                    }
                    ns
                })
                .collect();
            Some(TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            ))
        };
        let resolver = builder.and_then(|mut b| {
            b.options_mut().timeout = Duration::from_secs(3);
            b.options_mut().attempts = 2;
            b.build()
                .map_err(|e| tracing::warn!(error = %e, "cannot build the DNS resolver"))
                .ok()
        });
        Locator { resolver }
    }

    /// RFC 3263 location of `spec`; `seed` drives the SRV weighted choice.
    pub async fn locate(&self, spec: &TargetSpec, seed: u64) -> Located {
        if let Some(r) = &self.resolver {
            // Our own schedule decides when records are read again.
            r.clear_cache();
        }
        let mut answers = Answers::default();
        for _ in 0..MAX_PASSES {
            match locate::locate(spec, &answers, seed) {
                Step::Done(located) => return located,
                Step::Need(queries) => {
                    for q in queries {
                        self.answer(&q, &mut answers).await;
                    }
                }
            }
        }
        Located {
            targets: Vec::new(),
            ttl: None,
            source: Source::Address,
        }
    }

    async fn answer(&self, query: &Query, answers: &mut Answers) {
        match query {
            Query::Naptr(name) => {
                let set = self.lookup(name, RecordType::NAPTR, |d| match d {
                    RData::NAPTR(n) => Some(Naptr {
                        order: n.order,
                        preference: n.preference,
                        flags: String::from_utf8_lossy(&n.flags).into_owned(),
                        services: String::from_utf8_lossy(&n.services).into_owned(),
                        replacement: n.replacement.to_ascii(),
                    }),
                    _ => None,
                });
                answers.insert_naptr(name, set.await);
            }
            Query::Srv(name) => {
                let set = self.lookup(name, RecordType::SRV, |d| match d {
                    RData::SRV(s) => Some(Srv {
                        priority: s.priority,
                        weight: s.weight,
                        port: s.port,
                        target: s.target.to_ascii(),
                    }),
                    _ => None,
                });
                answers.insert_srv(name, set.await);
            }
            Query::Addr(name) => {
                let v4 = self
                    .lookup(name, RecordType::A, |d| match d {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        _ => None,
                    })
                    .await;
                let v6 = self
                    .lookup(name, RecordType::AAAA, |d| match d {
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .await;
                let ttl = match (v4.records.is_empty(), v6.records.is_empty()) {
                    (false, false) => v4.ttl.min(v6.ttl),
                    (false, true) => v4.ttl,
                    _ => v6.ttl,
                };
                let mut records = v4.records;
                records.extend(v6.records);
                answers.insert_addrs(name, RecordSet { records, ttl });
            }
        }
    }

    /// One lookup; no records and errors alike give an empty set (logged).
    async fn lookup<T>(
        &self,
        name: &str,
        kind: RecordType,
        read: impl Fn(&RData) -> Option<T>,
    ) -> RecordSet<T> {
        let Some(resolver) = &self.resolver else {
            return RecordSet::empty();
        };
        match resolver.lookup(name, kind).await {
            Ok(lookup) => {
                let mut ttl = u32::MAX;
                let mut records = Vec::new();
                for r in lookup.answers() {
                    if let Some(v) = read(&r.data) {
                        ttl = ttl.min(r.ttl);
                        records.push(v);
                    }
                }
                tracing::debug!(name, ?kind, found = records.len(), "DNS answer");
                RecordSet {
                    ttl: if records.is_empty() { 0 } else { ttl },
                    records,
                }
            }
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                tracing::debug!(name, ?kind, "no DNS records");
                RecordSet::empty()
            }
            Err(e) => {
                tracing::warn!(name, ?kind, error = %e, "DNS lookup failed");
                RecordSet::empty()
            }
        }
    }
}

/// Whether we can send to `peer` at all: UDP goes out of the first UDP
/// listener's socket, so its address family must match. Other transports
/// connect per target.
pub fn can_send(peer: &Peer, listen: &[Listen]) -> bool {
    match peer.transport {
        Transport::Udp => listen
            .iter()
            .find(|l| l.transport == ListenTransport::Udp)
            .is_some_and(|l| l.addr.is_ipv4() == peer.addr.is_ipv4()),
        _ => true,
    }
}

/// When to locate again: at the records' TTL, kept within
/// [`MIN_REFRESH`]..=[`MAX_REFRESH`]; a trunk that found nothing tries again
/// after [`MIN_REFRESH`]; an IP literal never.
pub fn refresh_after(located: &Located) -> Option<Duration> {
    if located.source == Source::Literal && !located.targets.is_empty() {
        return None;
    }
    let ttl = located
        .ttl
        .map_or(MIN_REFRESH, |t| Duration::from_secs(u64::from(t)));
    Some(ttl.clamp(MIN_REFRESH, MAX_REFRESH))
}

/// Locates one trunk and keeps the targets we can send to.
async fn locate_trunk(
    locator: &Locator,
    config: &Config,
    name: &str,
) -> Option<(Vec<Peer>, Option<Duration>)> {
    let trunk = config.trunks.iter().find(|t| t.name == name)?;
    let spec = trunk.target_spec();
    let located = locator.locate(&spec, rand::random()).await;
    let targets: Vec<Peer> = located
        .targets
        .iter()
        .filter(|p| can_send(p, &config.sip.listen))
        .copied()
        .collect();
    if targets.is_empty() {
        tracing::warn!(trunk = %name, host = %spec.host, "trunk host has no usable target; calls through it fail with 503");
    } else {
        let list: Vec<String> = targets.iter().map(ToString::to_string).collect();
        tracing::info!(trunk = %name, host = %spec.host, source = ?located.source, ttl = ?located.ttl, targets = ?list, "trunk located");
    }
    Some((targets, refresh_after(&located)))
}

/// Locates every trunk once (at start). Trunks that find nothing are kept
/// with an empty list: their calls get 503 and they are tried again later.
pub async fn locate_trunks(
    locator: &Locator,
    config: &Config,
) -> (HashMap<String, Vec<Peer>>, HashMap<String, Instant>) {
    let mut peers = HashMap::new();
    let mut due = HashMap::new();
    for trunk in &config.trunks {
        if let Some((targets, refresh)) = locate_trunk(locator, config, &trunk.name).await {
            peers.insert(trunk.name.clone(), targets);
            if let Some(after) = refresh {
                due.insert(trunk.name.clone(), Instant::now() + after);
            }
        }
    }
    (peers, due)
}

/// Starts the task that locates trunks again, at `due` and whenever a trunk
/// name is sent on the returned channel (every target failed), and feeds
/// the results to the core as [`Input::TrunkTargets`].
pub fn spawn_refresh(
    locator: Locator,
    config: Config,
    mut due: HashMap<String, Instant>,
    core: mpsc::Sender<Input>,
    tls: super::sip_tls::SipTls,
) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut last: HashMap<String, Instant> = HashMap::new();
        loop {
            let next = due
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(n, at)| (n.clone(), *at));
            let name = tokio::select! {
                asked = rx.recv() => match asked {
                    Some(name) => {
                        // At most one location per MIN_RETRY per trunk.
                        let earliest = last.get(&name).map_or(Instant::now(), |t| *t + MIN_RETRY);
                        if earliest > Instant::now() {
                            let at = due.get(&name).map_or(earliest, |d| (*d).min(earliest));
                            due.insert(name, at);
                            continue;
                        }
                        name
                    }
                    None => return,
                },
                () = async {
                    match &next {
                        Some((_, at)) => tokio::time::sleep_until(*at).await,
                        None => std::future::pending().await,
                    }
                } => next.expect("slept until it").0,
            };
            due.remove(&name);
            last.insert(name.clone(), Instant::now());
            let Some((targets, refresh)) = locate_trunk(&locator, &config, &name).await else {
                continue;
            };
            if let Some(after) = refresh {
                due.insert(name.clone(), Instant::now() + after);
            }
            tls.learn_targets(&name, &targets);
            let input = Input::TrunkTargets {
                trunk: name,
                targets,
            };
            if core.send(input).await.is_err() {
                return;
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(ttl: Option<u32>, source: Source, n: usize) -> Located {
        Located {
            targets: vec![
                Peer {
                    transport: Transport::Udp,
                    addr: "192.0.2.1:5060".parse().unwrap()
                };
                n
            ],
            ttl,
            source,
        }
    }

    #[test]
    fn refresh_follows_the_ttl_within_bounds() {
        let s = |secs| Some(Duration::from_secs(secs));
        assert_eq!(refresh_after(&located(Some(5), Source::Srv, 1)), s(60));
        assert_eq!(refresh_after(&located(Some(600), Source::Naptr, 1)), s(600));
        assert_eq!(
            refresh_after(&located(Some(86_400), Source::Address, 1)),
            s(3600)
        );
        assert_eq!(refresh_after(&located(None, Source::Address, 0)), s(60));
        assert_eq!(refresh_after(&located(None, Source::Literal, 1)), None);
    }

    #[test]
    fn udp_targets_need_a_socket_of_their_family() {
        let listen = |s: &str| vec![s.parse::<Listen>().unwrap()];
        let peer = |t, a: &str| Peer {
            transport: t,
            addr: a.parse().unwrap(),
        };
        let v4 = peer(Transport::Udp, "192.0.2.1:5060");
        let v6 = peer(Transport::Udp, "[2001:db8::1]:5060");
        assert!(can_send(&v4, &listen("udp:0.0.0.0:5060")));
        assert!(!can_send(&v6, &listen("udp:0.0.0.0:5060")));
        assert!(can_send(&v6, &listen("udp:[::]:5060")));
        assert!(!can_send(&v4, &listen("udp:[::]:5060")));
        assert!(!can_send(&v4, &listen("tcp:0.0.0.0:5060")));
        assert!(can_send(
            &peer(Transport::Tcp, "[2001:db8::1]:5060"),
            &listen("udp:0.0.0.0:5060")
        ));
    }
}
