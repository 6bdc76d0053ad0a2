//! Per-source request rate limits for SIP from addresses that are not a
//! configured trunk.
//!
//! Why: scanners (SIPVicious and friends) sweep the internet with OPTIONS,
//! REGISTER and INVITE. Each gets a 403 from us, but answering floods at line
//! rate would make the gateway an amplifier and burn CPU the real calls need.
//! Trunks are exempt; everyone else gets a token bucket per IP address, and
//! requests beyond it are dropped without an answer (RFC 3261 lets a server
//! drop what it will not process; an answer is what a flood wants).
//!
//! Memory is bounded: idle buckets are forgotten, and when the table is full
//! the oldest entries go first, so spoofed source addresses cannot grow it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How much a non-trunk source may send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed in a burst.
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 10.0,
            burst: 20.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by source address.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: HashMap<IpAddr, Bucket>,
    order: VecDeque<IpAddr>,
    capacity: usize,
}

impl RateLimiter {
    /// A limiter tracking at most `capacity` sources.
    pub fn new(limit: RateLimit, capacity: usize) -> Self {
        RateLimiter {
            limit,
            buckets: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Whether one more request from `ip` at `now` is within the limit.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        let limit = self.limit;
        if !self.buckets.contains_key(&ip) {
            self.make_room(now);
            self.order.push_back(ip);
        }
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Number of sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Forgets buckets that have refilled (idle long enough to be full again),
    /// then the oldest ones while the table is full.
    fn make_room(&mut self, now: Instant) {
        let refill = Duration::from_secs_f64(self.limit.burst / self.limit.per_second.max(1e-9));
        while let Some(ip) = self.order.front().copied() {
            let idle = self
                .buckets
                .get(&ip)
                .is_none_or(|b| now.saturating_duration_since(b.at) >= refill);
            if idle || self.buckets.len() >= self.capacity {
                self.order.pop_front();
                self.buckets.remove(&ip);
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_is_allowed_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(
            RateLimit {
                per_second: 10.0,
                burst: 5.0,
            },
            100,
        );
        let a = ip("192.0.2.1");
        assert_eq!((0..5).filter(|_| rl.allow(a, t0)).count(), 5);
        assert!(!rl.allow(a, t0));
        // 100 ms refills one token.
        assert!(rl.allow(a, t0 + Duration::from_millis(100)));
        assert!(!rl.allow(a, t0 + Duration::from_millis(100)));
        // Another source has its own bucket.
        assert!(rl.allow(ip("192.0.2.2"), t0));
    }

    #[test]
    fn memory_stays_bounded_under_spoofed_sources() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimit::default(), 1000);
        for i in 0..100_000u32 {
            let addr = IpAddr::from(i.to_be_bytes());
            rl.allow(addr, t0);
        }
        assert!(rl.len() <= 1000, "{}", rl.len());
    }

    #[test]
    fn idle_sources_are_forgotten() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimit::default(), 1000);
        for i in 0..10u8 {
            rl.allow(ip(&format!("192.0.2.{i}")), t0);
        }
        rl.allow(ip("198.51.100.1"), t0 + Duration::from_secs(10));
        assert_eq!(rl.len(), 1);
    }
}
