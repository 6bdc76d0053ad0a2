//! `stox translate sdp-to-jingle | jingle-to-sdp`.
//!
//! Contract (scripts rely on it): the result goes to stdout; each warning is one
//! `warning: …` line on stderr and the exit status stays 0; bad input gives one
//! `error: …` line naming the offending line or element, and exit status 2.

use clap::{Args, Subcommand, ValueEnum};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use stox::jingle::{jingle_element, parse_jingle};
use stox::translate::{Role, SdpOrigin, Translated, jingle_to_sdp, sdp_to_jingle};

/// Exit status for bad input.
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Subcommand)]
pub enum TranslateCommand {
    /// Read SDP, print a <jingle xmlns='urn:xmpp:jingle:1'> element with the contents.
    SdpToJingle {
        #[command(flatten)]
        common: Common,
        /// The `action` attribute to put on <jingle/> (e.g. session-initiate).
        #[arg(long)]
        action: Option<String>,
        /// The `sid` attribute to put on <jingle/>.
        #[arg(long)]
        sid: Option<String>,
        /// Set every content's `disposition` (e.g. `early-session` for SDP that came in
        /// a SIP body with `Content-Disposition: early-session`, RFC 3959).
        #[arg(long)]
        disposition: Option<String>,
        /// Print on one line, as sent on the wire, instead of indented.
        #[arg(long)]
        compact: bool,
    },
    /// Read an <iq>, a <jingle> or a bare <content> element, print SDP (CRLF line ends).
    JingleToSdp {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// Whose point of view the SDP is written from.
    #[arg(long, value_enum, default_value_t = RoleArg::Initiator)]
    role: RoleArg,
    /// Input file; standard input when absent.
    file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Initiator,
    Responder,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Initiator => Role::Initiator,
            RoleArg::Responder => Role::Responder,
        }
    }
}

impl TranslateCommand {
    pub fn run(self) -> ExitCode {
        match self.execute() {
            Ok(output) => {
                print!("{output}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    }

    fn execute(self) -> Result<String, String> {
        match self {
            TranslateCommand::SdpToJingle {
                common,
                action,
                sid,
                disposition,
                compact,
            } => {
                let text = read_input(&common.file)?;
                let Translated { value, warnings } =
                    sdp_to_jingle(&text, common.role.into()).map_err(|e| e.to_string())?;
                print_warnings(&warnings);
                let mut jingle = stox::jingle::Jingle {
                    action,
                    sid,
                    ..value
                };
                for content in &mut jingle.contents {
                    content.disposition.clone_from(&disposition);
                }
                let el = jingle_element(&jingle);
                Ok(if compact {
                    el.to_compact_string() + "\n"
                } else {
                    el.to_pretty_string()
                })
            }
            TranslateCommand::JingleToSdp { common } => {
                let text = read_input(&common.file)?;
                let jingle = parse_jingle(&text).map_err(|e| e.to_string())?;
                let origin = SdpOrigin {
                    session_id: jingle.sid.as_deref().map(stable_session_id).unwrap_or(0),
                    ..SdpOrigin::default()
                };
                let Translated { value, warnings } =
                    jingle_to_sdp(&jingle, common.role.into(), &origin)
                        .map_err(|e| e.to_string())?;
                print_warnings(&warnings);
                Ok(value)
            }
        }
    }
}

fn read_input(file: &Option<PathBuf>) -> Result<String, String> {
    let mut bytes = Vec::new();
    match file {
        Some(path) => {
            bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
        }
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("input is not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

fn print_warnings(warnings: &[stox::translate::Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// A numeric o= session id derived from the Jingle sid, so the same input always
/// gives the same SDP (FNV-1a, folded below 2^63 as RFC 8866 suggests).
fn stable_session_id(sid: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h >> 1
}
