//! Jingle (XEP-0166 and the RTP family) as plain data, with a lenient reader and
//! a canonical writer. Pure: no I/O.

pub mod model;
pub mod ns;
mod parse;
mod write;
pub mod xml;

pub use model::*;
pub use parse::{ParseError, parse_jingle};
pub use write::{
    content_element, creator_str, jingle_element, rtp_description_element, senders_str,
};
