//! SDP direction ⇄ Jingle `senders`, with perspective.
//!
//! Jingle's `senders` names parties absolutely; an SDP direction is relative to
//! whoever wrote the SDP. draft-ietf-stox-media ignores this (and MongooseIM
//! always used the initiator's column); the table in the mapping digest §3:
//!
//! | senders   | SDP by the initiator | SDP by the responder |
//! |-----------|----------------------|----------------------|
//! | both      | sendrecv             | sendrecv             |
//! | initiator | sendonly             | recvonly             |
//! | responder | recvonly             | sendonly             |
//! | none      | inactive             | inactive             |

use super::Role;
use crate::jingle::Senders;

/// An SDP media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (also the meaning of no attribute at all).
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    /// Parses an attribute name.
    pub fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// `senders` for a direction written by `writer`.
pub fn senders_from_direction(direction: Direction, writer: Role) -> Senders {
    match (direction, writer) {
        (Direction::SendRecv, _) => Senders::Both,
        (Direction::Inactive, _) => Senders::None,
        (Direction::SendOnly, Role::Initiator) | (Direction::RecvOnly, Role::Responder) => {
            Senders::Initiator
        }
        (Direction::SendOnly, Role::Responder) | (Direction::RecvOnly, Role::Initiator) => {
            Senders::Responder
        }
    }
}

/// The direction `writer` puts in its SDP for `senders`.
pub fn direction_from_senders(senders: Senders, writer: Role) -> Direction {
    match (senders, writer) {
        (Senders::Both, _) => Direction::SendRecv,
        (Senders::None, _) => Direction::Inactive,
        (Senders::Initiator, Role::Initiator) | (Senders::Responder, Role::Responder) => {
            Direction::SendOnly
        }
        (Senders::Initiator, Role::Responder) | (Senders::Responder, Role::Initiator) => {
            Direction::RecvOnly
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_perspective_table_holds_both_ways() {
        use Direction::*;
        let table = [
            (Senders::Both, SendRecv, SendRecv),
            (Senders::Initiator, SendOnly, RecvOnly),
            (Senders::Responder, RecvOnly, SendOnly),
            (Senders::None, Inactive, Inactive),
        ];
        for (senders, by_initiator, by_responder) in table {
            assert_eq!(
                direction_from_senders(senders, Role::Initiator),
                by_initiator
            );
            assert_eq!(
                direction_from_senders(senders, Role::Responder),
                by_responder
            );
            assert_eq!(
                senders_from_direction(by_initiator, Role::Initiator),
                senders
            );
            assert_eq!(
                senders_from_direction(by_responder, Role::Responder),
                senders
            );
        }
    }
}
