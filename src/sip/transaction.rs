//! RFC 3261 §17 transactions, sans-IO: the four state machines, their timers and
//! retransmissions, with time as an argument and effects queued as outputs.
//!
//! Why our own rather than rsipstack's: its transactions are tokio tasks with
//! tokio timers, so neither a virtual clock nor a persisted dialog can drive them
//! (ARCHITECTURE.md, "SIP stack"). Here a transaction is a small struct; the
//! call core feeds messages and `now`, and drains [`TxOutput`]s.
//!
//! Not kept here: dialogs and 2xx-to-INVITE ACKs, which belong to the TU
//! (RFC 3261 §13.2.2.4), except that a server INVITE transaction in the
//! RFC 6026 "Accepted" state retransmits its 2xx until the TU reports the ACK.

use super::header::Via;
use super::message::{Method, Request, Response, SipMessage};
use super::peer::Peer;
use super::timers::SipTimers;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Identifies a server transaction so the TU can answer it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ServerKey {
    /// Via branch (or an RFC 2543 fallback key when the branch lacks the magic cookie).
    pub branch: String,
    /// Via sent-by, so that two clients reusing a branch do not collide.
    pub sent_by: String,
    /// The request method, with ACK folded into INVITE.
    pub method: String,
}

/// What the transaction layer asks of the outside world or tells the TU.
#[derive(Debug, Clone)]
pub enum TxOutput {
    /// Put these bytes on the wire toward `peer`.
    Transmit {
        /// Destination.
        peer: Peer,
        /// A whole SIP message.
        bytes: Vec<u8>,
    },
    /// A new request for the TU (retransmissions are absorbed here).
    Request {
        /// The request.
        request: Request,
        /// Where it came from.
        from: Peer,
        /// The server transaction to answer through; `None` for ACK.
        key: Option<ServerKey>,
    },
    /// A response for the TU, matched to a client transaction.
    Response {
        /// The response.
        response: Response,
        /// The client transaction's branch.
        branch: String,
    },
    /// A 2xx to INVITE that matched no transaction (a retransmission after the
    /// transaction ended, or another fork): the TU re-sends its ACK.
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        from: Peer,
    },
    /// A client transaction got no final response (Timer B or F): act as 408.
    Timeout {
        /// The client transaction's branch.
        branch: String,
        /// Its method.
        method: Method,
    },
    /// A 2xx to INVITE we sent was never ACKed within 64·T1 (RFC 3261 §13.3.1.4):
    /// the TU should end the dialog with BYE.
    AckTimeout {
        /// The INVITE's Call-ID.
        call_id: String,
        /// The INVITE's CSeq number.
        cseq: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Calling,
    Proceeding,
    Completed,
}

#[derive(Debug)]
struct ClientTx {
    request: Request,
    bytes: Vec<u8>,
    peer: Peer,
    invite: bool,
    state: ClientState,
    interval: Duration,
    retransmit_at: Option<Instant>,
    timeout_at: Option<Instant>,
    ack: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
}

#[derive(Debug)]
struct ServerTx {
    peer: Peer,
    invite: bool,
    state: ServerState,
    last_response: Option<Vec<u8>>,
    interval: Duration,
    retransmit_at: Option<Instant>,
    timeout_at: Option<Instant>,
    call_id: String,
    cseq: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum TxRef {
    Client(String),
    Server(ServerKey),
}

/// All live transactions and their timers.
#[derive(Debug)]
pub struct TransactionLayer {
    timers: SipTimers,
    clients: HashMap<String, ClientTx>,
    servers: HashMap<ServerKey, ServerTx>,
    /// (deadline, transaction) index; entries are removed whenever a
    /// transaction's next deadline changes, so it never holds stale entries.
    wheel: BTreeSet<(Instant, TxRef)>,
    /// INVITE server transactions in Accepted state, by (Call-ID, CSeq).
    accepted: HashMap<(String, u32), ServerKey>,
    /// Where each transaction sits in `wheel`, so re-filing is O(log n).
    indexed: HashMap<TxRef, Instant>,
    out: VecDeque<TxOutput>,
}

const MAGIC_COOKIE: &str = "z9hG4bK";

impl TransactionLayer {
    /// An empty layer with the given timer values.
    pub fn new(timers: SipTimers) -> Self {
        TransactionLayer {
            timers,
            clients: HashMap::new(),
            servers: HashMap::new(),
            wheel: BTreeSet::new(),
            accepted: HashMap::new(),
            indexed: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// The timer values in use.
    pub fn timers(&self) -> SipTimers {
        self.timers
    }

    /// Number of live transactions (client, server), for metrics and tests.
    pub fn len(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.servers.is_empty()
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<TxOutput> {
        self.out.pop_front()
    }

    /// The earliest deadline of any transaction.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wheel.first().map(|(at, _)| *at)
    }

    /// Starts a client transaction for `request`, whose top Via must carry a
    /// fresh branch. ACK is not a transaction: it is transmitted and forgotten.
    pub fn send_request(&mut self, request: Request, peer: Peer, now: Instant) {
        let bytes = request.to_bytes();
        self.out.push_back(TxOutput::Transmit {
            peer,
            bytes: bytes.clone(),
        });
        if request.method == Method::Ack {
            return;
        }
        let Some(branch) = top_branch(&request.headers) else {
            return;
        };
        if request.method == Method::Cancel {
            // RFC 3261 §9.1: without a final response to the INVITE within
            // 64·T1 of the CANCEL, the INVITE transaction is over.
            let key = client_key(&branch, &Method::Invite);
            if let Some(tx) = self.clients.get_mut(&key)
                && tx.state != ClientState::Completed
                && tx.timeout_at.is_none()
            {
                tx.timeout_at = Some(now + self.timers.timeout());
                self.reindex(TxRef::Client(key));
            }
        }
        let invite = request.method == Method::Invite;
        let reliable = peer.transport.is_reliable();
        let branch = client_key(&branch, &request.method);
        let tx = ClientTx {
            request,
            bytes,
            peer,
            invite,
            state: ClientState::Calling,
            interval: self.timers.t1,
            retransmit_at: (!reliable).then(|| now + self.timers.t1),
            timeout_at: Some(now + self.timers.timeout()),
            ack: None,
        };
        self.forget_key(&branch);
        self.clients.insert(branch.clone(), tx);
        self.index(TxRef::Client(branch));
    }

    /// Answers a server transaction. Unknown keys (the transaction timed out)
    /// are ignored: there is nobody left to answer.
    pub fn respond(&mut self, key: &ServerKey, response: Response, now: Instant) {
        let timers = self.timers;
        let Some(tx) = self.servers.get_mut(key) else {
            return;
        };
        if matches!(tx.state, ServerState::Completed | ServerState::Confirmed) {
            return;
        }
        let mut response = response;
        stamp_received(&mut response.headers, tx.peer);
        let bytes = response.to_bytes();
        self.out.push_back(TxOutput::Transmit {
            peer: tx.peer,
            bytes: bytes.clone(),
        });
        let reliable = tx.peer.transport.is_reliable();
        tx.last_response = Some(bytes);
        let status = response.status;
        if status < 200 {
            return;
        }
        if tx.invite && status < 300 {
            if tx.state == ServerState::Accepted {
                return;
            }
            tx.state = ServerState::Accepted;
            tx.interval = timers.t1;
            tx.retransmit_at = (!reliable).then(|| now + timers.t1);
            tx.timeout_at = Some(now + timers.timeout());
            self.accepted
                .insert((tx.call_id.clone(), tx.cseq), key.clone());
        } else if tx.invite {
            tx.state = ServerState::Completed;
            tx.interval = timers.t1;
            tx.retransmit_at = (!reliable).then(|| now + timers.t1);
            tx.timeout_at = Some(now + timers.timeout());
        } else {
            tx.state = ServerState::Completed;
            tx.retransmit_at = None;
            tx.timeout_at = Some(if reliable {
                now
            } else {
                now + timers.timeout()
            });
        }
        self.reindex(TxRef::Server(key.clone()));
    }

    /// Feeds a message from the wire.
    pub fn handle_message(&mut self, message: SipMessage, from: Peer, now: Instant) {
        match message {
            SipMessage::Request(request) => self.handle_request(request, from, now),
            SipMessage::Response(response) => self.handle_response(response, from, now),
        }
    }

    /// Re-creates, after a restart, the INVITE client transaction of an
    /// INVITE a previous process sent, in the Proceeding state: nothing is
    /// transmitted, but its final response is matched (and a non-2xx ACKed)
    /// and it times out after 64·T1 like a cancelled INVITE. The TU then
    /// CANCELs it (RFC 3261 §9.1) instead of leaving the callee ringing.
    pub fn resume_invite_client(&mut self, request: Request, peer: Peer, now: Instant) {
        let Some(branch) = top_branch(&request.headers) else {
            return;
        };
        let key = client_key(&branch, &Method::Invite);
        let tx = ClientTx {
            bytes: request.to_bytes(),
            request,
            peer,
            invite: true,
            state: ClientState::Proceeding,
            interval: self.timers.t1,
            retransmit_at: None,
            timeout_at: Some(now + self.timers.timeout()),
            ack: None,
        };
        self.forget_key(&key);
        self.clients.insert(key.clone(), tx);
        self.index(TxRef::Client(key));
    }

    /// Re-creates, after a restart, the INVITE server transaction of an
    /// INVITE a previous process received and never answered finally, so
    /// that the TU can still send its final response (retransmitted until
    /// the ACK, RFC 3261 §17.2.1) instead of leaving the caller hanging.
    pub fn resume_invite_server(&mut self, key: ServerKey, request: &Request, peer: Peer) {
        let tx = ServerTx {
            peer,
            invite: true,
            state: ServerState::Proceeding,
            last_response: None,
            interval: self.timers.t1,
            retransmit_at: None,
            timeout_at: None,
            call_id: request
                .headers
                .get("Call-ID")
                .unwrap_or_default()
                .to_string(),
            cseq: request.headers.cseq().map(|c| c.seq).unwrap_or_default(),
        };
        self.servers.insert(key, tx);
    }

    /// Finds the INVITE server transaction a CANCEL refers to (RFC 3261 §9.2).
    pub fn invite_for_cancel(&self, cancel: &Request) -> Option<ServerKey> {
        let mut key = server_key(cancel)?;
        key.method = "INVITE".into();
        self.servers.contains_key(&key).then_some(key)
    }

    /// Whether an INVITE server transaction still waits for its final response.
    pub fn is_pending(&self, key: &ServerKey) -> bool {
        self.servers
            .get(key)
            .is_some_and(|tx| tx.state == ServerState::Proceeding)
    }

    /// Removes a client transaction without further output (e.g. the TU gave up).
    pub fn forget_client(&mut self, branch: &str) {
        for method in [Method::Invite, Method::Cancel, Method::Bye] {
            self.forget_key(&client_key(branch, &method));
        }
    }

    fn forget_key(&mut self, key: &str) {
        self.unindex(&TxRef::Client(key.to_string()));
        self.clients.remove(key);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, tx)) = self.wheel.first().cloned() {
            if at > now {
                break;
            }
            self.wheel.remove(&(at, tx.clone()));
            self.indexed.remove(&tx);
            match tx {
                TxRef::Client(branch) => self.client_timer(branch, now),
                TxRef::Server(key) => self.server_timer(key, now),
            }
        }
    }

    fn handle_request(&mut self, request: Request, from: Peer, now: Instant) {
        let Some(key) = server_key(&request) else {
            // No usable Via: the caller validated the request, so this is an
            // ACK or a request we cannot answer; let the TU see it.
            self.out.push_back(TxOutput::Request {
                request,
                from,
                key: None,
            });
            return;
        };
        if let Some(tx) = self.servers.get_mut(&key) {
            if request.method == Method::Ack {
                if tx.invite && tx.state == ServerState::Completed {
                    tx.state = ServerState::Confirmed;
                    tx.retransmit_at = None;
                    tx.timeout_at = Some(if tx.peer.transport.is_reliable() {
                        now
                    } else {
                        now + self.timers.t4
                    });
                    self.reindex(TxRef::Server(key));
                }
                // ACK to a non-2xx final is hop-by-hop: absorbed here.
                return;
            }
            // A retransmission: answer with the last response, if any.
            if let Some(bytes) = &tx.last_response
                && tx.state != ServerState::Accepted
            {
                self.out.push_back(TxOutput::Transmit {
                    peer: tx.peer,
                    bytes: bytes.clone(),
                });
            }
            return;
        }
        if request.method == Method::Ack {
            // ACK for a 2xx: a new transaction-less request for the dialog.
            if let Some(cseq) = request.headers.cseq()
                && let Some(call_id) = request.headers.get("Call-ID")
                && let Some(key) = self.accepted.remove(&(call_id.to_string(), cseq.seq))
            {
                self.unindex(&TxRef::Server(key.clone()));
                self.servers.remove(&key);
            }
            self.out.push_back(TxOutput::Request {
                request,
                from,
                key: None,
            });
            return;
        }
        let invite = request.method == Method::Invite;
        let call_id = request
            .headers
            .get("Call-ID")
            .unwrap_or_default()
            .to_string();
        let cseq = request.headers.cseq().map(|c| c.seq).unwrap_or_default();
        let tx = ServerTx {
            peer: from,
            invite,
            state: ServerState::Proceeding,
            last_response: None,
            interval: self.timers.t1,
            retransmit_at: None,
            timeout_at: None,
            call_id,
            cseq,
        };
        self.servers.insert(key.clone(), tx);
        self.out.push_back(TxOutput::Request {
            request,
            from,
            key: Some(key),
        });
    }

    fn handle_response(&mut self, response: Response, from: Peer, now: Instant) {
        let method = response.headers.cseq().map(|c| c.method);
        let key = top_branch(&response.headers)
            .zip(method)
            .map(|(b, m)| (client_key(&b, &m), b));
        let Some((key, branch)) = key.filter(|(k, _)| self.clients.contains_key(k)) else {
            self.stray(response, from);
            return;
        };
        let timers = self.timers;
        let tx = self.clients.get_mut(&key).expect("checked above");
        let cseq_method = response.headers.cseq().map(|c| c.method);
        if cseq_method.as_ref() != Some(&tx.request.method) {
            // Same branch, different method (e.g. a 200 to our CANCEL arriving
            // at the INVITE's branch is keyed separately): not ours.
            return;
        }
        let status = response.status;
        match tx.state {
            ClientState::Completed => {
                if tx.invite
                    && status >= 300
                    && let Some(ack) = &tx.ack
                {
                    self.out.push_back(TxOutput::Transmit {
                        peer: tx.peer,
                        bytes: ack.clone(),
                    });
                }
                return;
            }
            ClientState::Calling | ClientState::Proceeding => {}
        }
        if status < 200 {
            tx.state = ClientState::Proceeding;
            if tx.invite {
                // RFC 3261 §17.1.1.2: Timer B only runs in Calling; a ringing
                // INVITE waits for its final response however long it rings
                // (a CANCEL re-arms a 64·T1 limit, see `send_request`).
                tx.retransmit_at = None;
                tx.timeout_at = None;
            } else if tx.retransmit_at.is_some() {
                tx.interval = timers.t2;
                tx.retransmit_at = Some(now + timers.t2);
            }
            self.reindex(TxRef::Client(key.clone()));
            self.out.push_back(TxOutput::Response { response, branch });
            return;
        }
        let reliable = tx.peer.transport.is_reliable();
        if tx.invite && status < 300 {
            // RFC 6026: the TU owns 2xx handling (ACK, other forks).
            self.unindex(&TxRef::Client(key.clone()));
            self.clients.remove(&key);
            self.out.push_back(TxOutput::Response { response, branch });
            return;
        }
        if tx.invite {
            let ack = ack_for_failure(&tx.request, &response).to_bytes();
            self.out.push_back(TxOutput::Transmit {
                peer: tx.peer,
                bytes: ack.clone(),
            });
            tx.ack = Some(ack);
        }
        tx.state = ClientState::Completed;
        tx.retransmit_at = None;
        let linger = if reliable {
            Duration::ZERO
        } else if tx.invite {
            Duration::from_secs(32).min(timers.timeout())
        } else {
            timers.t4
        };
        tx.timeout_at = Some(now + linger);
        self.reindex(TxRef::Client(key.clone()));
        self.out.push_back(TxOutput::Response { response, branch });
    }

    fn stray(&mut self, response: Response, from: Peer) {
        let is_invite_2xx = (200..300).contains(&response.status)
            && response
                .headers
                .cseq()
                .is_some_and(|c| c.method == Method::Invite);
        if is_invite_2xx {
            self.out
                .push_back(TxOutput::StrayResponse { response, from });
        }
    }

    fn client_timer(&mut self, key: String, now: Instant) {
        let timers = self.timers;
        let Some(tx) = self.clients.get_mut(&key) else {
            return;
        };
        if tx.timeout_at.is_some_and(|t| t <= now) {
            let completed = tx.state == ClientState::Completed;
            let method = tx.request.method.clone();
            let branch = key.split('|').next().unwrap_or_default().to_string();
            self.clients.remove(&key);
            if !completed {
                self.out.push_back(TxOutput::Timeout { branch, method });
            }
            return;
        }
        if tx.retransmit_at.is_some_and(|t| t <= now) {
            self.out.push_back(TxOutput::Transmit {
                peer: tx.peer,
                bytes: tx.bytes.clone(),
            });
            tx.interval = if tx.invite {
                tx.interval * 2
            } else {
                (tx.interval * 2).min(timers.t2)
            };
            tx.retransmit_at = Some(now + tx.interval);
        }
        self.index(TxRef::Client(key));
    }

    fn server_timer(&mut self, key: ServerKey, now: Instant) {
        let timers = self.timers;
        let Some(tx) = self.servers.get_mut(&key) else {
            return;
        };
        if tx.timeout_at.is_some_and(|t| t <= now) {
            let accepted = tx.state == ServerState::Accepted;
            let (call_id, cseq) = (tx.call_id.clone(), tx.cseq);
            self.servers.remove(&key);
            if accepted {
                self.accepted.remove(&(call_id.clone(), cseq));
                self.out.push_back(TxOutput::AckTimeout { call_id, cseq });
            }
            return;
        }
        if tx.retransmit_at.is_some_and(|t| t <= now) {
            if let Some(bytes) = &tx.last_response {
                self.out.push_back(TxOutput::Transmit {
                    peer: tx.peer,
                    bytes: bytes.clone(),
                });
            }
            tx.interval = (tx.interval * 2).min(timers.t2);
            tx.retransmit_at = Some(now + tx.interval);
        }
        self.index(TxRef::Server(key));
    }

    fn next_deadline(&self, tx: &TxRef) -> Option<Instant> {
        let (a, b) = match tx {
            TxRef::Client(branch) => {
                let tx = self.clients.get(branch)?;
                (tx.retransmit_at, tx.timeout_at)
            }
            TxRef::Server(key) => {
                let tx = self.servers.get(key)?;
                (tx.retransmit_at, tx.timeout_at)
            }
        };
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn index(&mut self, tx: TxRef) {
        self.unindex(&tx);
        if let Some(at) = self.next_deadline(&tx) {
            self.wheel.insert((at, tx.clone()));
            self.indexed.insert(tx, at);
        }
    }

    fn unindex(&mut self, tx: &TxRef) {
        if let Some(at) = self.indexed.remove(tx) {
            self.wheel.remove(&(at, tx.clone()));
        }
    }

    /// Re-files a transaction whose deadlines just changed.
    fn reindex(&mut self, tx: TxRef) {
        self.index(tx);
    }
}

/// Client transactions are keyed by branch and method: a CANCEL shares its
/// INVITE's branch (RFC 3261 §9.1) but is a transaction of its own.
fn client_key(branch: &str, method: &Method) -> String {
    format!("{branch}|{}", method.as_str())
}

fn top_branch(headers: &super::message::Headers) -> Option<String> {
    let via = headers.get("Via")?;
    let first = split_first_value(via);
    let via = Via::parse(first).ok()?;
    via.branch().map(str::to_string)
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: the top Via of a response says where the
/// request really came from — `received` when the sent-by host is not the
/// source address, and `rport` filled in when the client asked for it — so a
/// client behind NAT learns its public address.
fn stamp_received(headers: &mut super::message::Headers, peer: Peer) {
    let lines: Vec<String> = headers.get_all("Via").map(str::to_string).collect();
    let Some(first_line) = lines.first() else {
        return;
    };
    let first = split_first_value(first_line);
    let Ok(mut via) = Via::parse(first) else {
        return;
    };
    let ip = peer.addr.ip().to_string();
    let host = via.host.trim_start_matches('[').trim_end_matches(']');
    let mut changed = false;
    if host != ip {
        via.set_param("received", Some(ip));
        changed = true;
    }
    if via.param("rport").is_some() {
        via.set_param("rport", Some(peer.addr.port().to_string()));
        via.set_param("received", Some(peer.addr.ip().to_string()));
        changed = true;
    }
    if !changed {
        return;
    }
    let rest = first_line[first.len()..].trim_start_matches([',', ' ', '\t']);
    let new_first = if rest.is_empty() {
        via.to_string()
    } else {
        format!("{via}, {rest}")
    };
    headers.remove("Via");
    for line in lines[1..].iter().rev() {
        headers.prepend("Via", line.clone());
    }
    headers.prepend("Via", new_first);
}

/// The first comma-separated value of a header line (Via may carry several).
fn split_first_value(value: &str) -> &str {
    let mut in_quotes = false;
    let mut in_angle = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => return value[..i].trim(),
            _ => {}
        }
    }
    value.trim()
}

fn server_key(request: &Request) -> Option<ServerKey> {
    let via = Via::parse(split_first_value(request.headers.get("Via")?)).ok()?;
    let method = match &request.method {
        Method::Ack => "INVITE".to_string(),
        m => m.as_str().to_string(),
    };
    let sent_by = match via.port {
        Some(p) => format!("{}:{}", via.host.to_ascii_lowercase(), p),
        None => via.host.to_ascii_lowercase(),
    };
    let branch = match via.branch() {
        Some(b) if b.starts_with(MAGIC_COOKIE) => b.to_string(),
        _ => {
            // RFC 2543 peers: §17.2.3's fallback match on the dialog identifiers.
            let h = &request.headers;
            let from_tag = h
                .get("From")
                .and_then(|v| super::header::NameAddr::parse(v).ok())
                .and_then(|n| n.tag().map(str::to_string))
                .unwrap_or_default();
            let cseq = h.cseq().map(|c| c.seq).unwrap_or_default();
            format!(
                "2543:{}:{}:{}:{}",
                h.get("Call-ID").unwrap_or_default(),
                cseq,
                from_tag,
                request.uri
            )
        }
    };
    Some(ServerKey {
        branch,
        sent_by,
        method,
    })
}

/// The hop-by-hop ACK for a 3xx–6xx final response (RFC 3261 §17.1.1.3).
fn ack_for_failure(invite: &Request, response: &Response) -> Request {
    let mut headers = super::message::Headers::default();
    if let Some(via) = invite.headers.get("Via") {
        headers.push("Via", split_first_value(via).to_string());
    }
    for name in ["Max-Forwards", "From"] {
        if let Some(v) = invite.headers.get(name) {
            headers.push(name, v.to_string());
        }
    }
    if let Some(to) = response.headers.get("To") {
        headers.push("To", to.to_string());
    }
    if let Some(v) = invite.headers.get("Call-ID") {
        headers.push("Call-ID", v.to_string());
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
    headers.push("CSeq", format!("{seq} ACK"));
    for route in invite.headers.get_all("Route") {
        headers.push("Route", route.to_string());
    }
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers,
        body: Vec::new(),
    }
}
