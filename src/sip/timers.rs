//! RFC 3261 §17 timer values.
//!
//! T1 is configurable because tests and LAN deployments want the timeout paths
//! (Timer B = 64·T1) to run in seconds rather than the default 32 s.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The three base timers every other timer is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipTimers {
    /// RTT estimate, default 500 ms.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, default 5 s.
    pub t4: Duration,
}

impl Default for SipTimers {
    fn default() -> Self {
        SipTimers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl SipTimers {
    /// Timers with a custom T1; T2 and T4 keep their ratio to T1 but never exceed the defaults.
    pub fn with_t1(t1: Duration) -> Self {
        let d = SipTimers::default();
        SipTimers {
            t1,
            t2: (t1 * 8).min(d.t2),
            t4: (t1 * 10).min(d.t4),
        }
    }

    /// 64·T1: Timers B, F, H and J, and the 2xx retransmission window.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}
