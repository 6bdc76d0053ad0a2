//! Several instances on one Postgres behind one XMPP domain: a stanza that
//! reaches an instance which does not run its call is passed to the one that
//! does (see `store::forward` and `interop/ejabberd/README.md`).
//!
//! Only when the store is Postgres and another instance holds a live lease;
//! a lone instance handles everything itself at no cost.

use crate::call::Claim;
use crate::store::{PgStore, Store, now_ms};
use minidom::Element;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a session-initiate for an unknown session waits before it is
/// looked up again: the owner's first snapshot may still be in its
/// write-behind queue.
const SECOND_LOOK: Duration = Duration::from_millis(300);
/// How often the owner of a stanza whose instance died is looked up again,
/// until a survivor (perhaps this one) has adopted its call.
const ADOPTION_POLL: Duration = Duration::from_millis(500);
/// How often the number of live peers is read.
const PEER_POLL: Duration = Duration::from_secs(2);

/// This instance's part in a cluster.
#[derive(Clone)]
pub struct Cluster {
    pg: PgStore,
    me: String,
    /// The lease length: how long a dead owner's stanzas may wait.
    lease: Duration,
    peers: Arc<AtomicI64>,
    local: mpsc::Sender<Element>,
}

impl Cluster {
    /// Starts listening for stanzas forwarded to us; they, and stanzas
    /// nobody else owns, arrive on the returned receiver, to be fed to the
    /// core without another claim. `None` without a shared (Postgres) store.
    pub async fn start(
        store: &Store,
        me: &str,
        lease: Duration,
    ) -> Option<(Cluster, mpsc::Receiver<Element>)> {
        let pg = store.shared()?.clone();
        let (local, local_rx) = mpsc::channel::<Element>(4096);
        let (text_tx, mut text_rx) = mpsc::channel::<String>(4096);
        if let Err(e) = pg.listen_forwards(me, text_tx).await {
            tracing::error!(error = %e, "cannot listen for stanzas from other instances; a cluster will lose some");
        }
        let to_core = local.clone();
        tokio::spawn(async move {
            while let Some(text) = text_rx.recv().await {
                match text.parse::<Element>() {
                    Ok(el) => {
                        if to_core.send(el).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable forwarded stanza"),
                }
            }
        });
        let peers = Arc::new(AtomicI64::new(0));
        let cluster = Cluster {
            pg,
            me: me.to_string(),
            lease,
            peers: peers.clone(),
            local,
        };
        cluster.spawn_peer_poll();
        Some((cluster, local_rx))
    }

    fn spawn_peer_poll(&self) {
        let (pg, me, peers) = (self.pg.clone(), self.me.clone(), self.peers.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PEER_POLL);
            loop {
                tick.tick().await;
                if let Ok(n) = pg.live_peers(&me, now_ms()).await {
                    let before = peers.swap(n, Ordering::Relaxed);
                    if before != n {
                        tracing::info!(peers = n, "live instances sharing the store");
                    }
                }
            }
        });
    }

    /// Whether stanzas need routing (another instance is alive).
    pub fn active(&self) -> bool {
        self.peers.load(Ordering::Relaxed) > 0
    }

    /// Routes a stanza the core did not claim: to its owner, or back here
    /// (through the receiver of [`Cluster::start`]) when nobody else owns it.
    pub fn route(&self, claim: Claim, el: Element) {
        let this = self.clone();
        tokio::spawn(async move {
            let owner = match claim {
                Claim::Here => None,
                // A reply to a dead instance's IQ has nobody to go to.
                Claim::Instance(i) => this.live(&i).await.then_some(i),
                Claim::Session {
                    user,
                    sid,
                    may_start,
                } => this.live_owner(&user, &sid, may_start).await,
            };
            match owner {
                Some(o) if o != this.me => {
                    let text = String::from(&el);
                    match this.pg.forward(&o, &text).await {
                        Ok(()) => {
                            tracing::debug!(instance = %o, "stanza passed to its call's instance")
                        }
                        Err(e) => {
                            tracing::warn!(instance = %o, error = %e, "cannot pass a stanza on; handling it here");
                            let _ = this.local.send(el).await;
                        }
                    }
                }
                _ => {
                    let _ = this.local.send(el).await;
                }
            }
        });
    }

    async fn live(&self, instance: &str) -> bool {
        self.pg.is_live(instance, now_ms()).await.unwrap_or(true)
    }

    /// The owner of a session, once it is alive: while its instance's lease
    /// has lapsed the stanza waits (a hang-up in the seconds between a crash
    /// and the adoption is not lost) until a survivor owns the call.
    async fn live_owner(&self, user: &str, sid: &str, may_start: bool) -> Option<String> {
        let mut owner = self.owner(user, sid, may_start).await?;
        let give_up = tokio::time::Instant::now() + self.lease * 2;
        while owner != self.me && !self.live(&owner).await {
            if tokio::time::Instant::now() >= give_up {
                tracing::warn!(instance = %owner, "a stanza's call stayed with a dead instance; handling it here");
                return None;
            }
            tokio::time::sleep(ADOPTION_POLL).await;
            owner = self.owner(user, sid, false).await?;
        }
        Some(owner)
    }

    async fn owner(&self, user: &str, sid: &str, may_start: bool) -> Option<String> {
        let look = || async {
            use crate::store::CallStore;
            self.pg.owner_of_session(user, sid).await.ok().flatten()
        };
        if let Some(o) = look().await {
            return Some(o);
        }
        if may_start {
            tokio::time::sleep(SECOND_LOOK).await;
            return look().await;
        }
        None
    }
}
