//! `STOX_<SECTION>__<KEY>` environment variables laid over the file.
//!
//! Containers and service managers pass secrets and per-host addresses in the
//! environment; the file stays the same everywhere. The set of variables is
//! closed — a misspelt `STOX_XMPP__SECERT` is an error, not silently ignored,
//! because a typo there would otherwise fall back to the file's value unnoticed.

use super::ConfigError;
use std::collections::BTreeMap;
use toml::{Table, Value};

/// `STOX_*` variables that are read by the command line, not by the file layer
/// (clap's `env =` options); these are not configuration keys.
pub const PROCESS_ENV_VARS: &[&str] = &["STOX_CONFIG"];

/// How a variable's text becomes a TOML value.
#[derive(Clone, Copy)]
enum Kind {
    /// Taken as is.
    Str,
    /// A whole number ≥ 0.
    Int,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    Bool,
    /// Comma-separated; blanks around items ignored; empty text = empty list.
    List,
}

/// Every key that can be set from the environment: `[[trunk]]` and
/// `[[number]]` are lists of tables and live in the file only.
const KEYS: &[(&str, &str, Kind)] = &[
    ("xmpp", "domain", Kind::Str),
    ("xmpp", "server", Kind::Str),
    ("xmpp", "secret", Kind::Str),
    ("xmpp", "reconnect_max_secs", Kind::Int),
    ("sip", "listen", Kind::List),
    ("sip", "public_address", Kind::Str),
    ("sip", "user_agent", Kind::Str),
    ("sip", "timer_t1_ms", Kind::Int),
    ("sip", "untrusted_rate", Kind::Int),
    ("sip", "untrusted_burst", Kind::Int),
    ("sip", "trunk_ping_secs", Kind::Int),
    ("sip", "session_expires_secs", Kind::Int),
    ("sip", "tls_cert", Kind::Str),
    ("sip", "tls_key", Kind::Str),
    ("sip", "tls_client_ca", Kind::Str),
    ("sip", "dns_servers", Kind::List),
    ("database", "url", Kind::Str),
    ("database", "instance", Kind::Str),
    ("database", "lease_secs", Kind::Int),
    ("policy", "allow_outbound", Kind::List),
    ("policy", "allow_sip_uris", Kind::Bool),
    ("policy", "default_trunk", Kind::Str),
    ("calls", "ring_timeout_secs", Kind::Int),
    ("calls", "trickle_deadline_ms", Kind::Int),
    ("metrics", "listen", Kind::Str),
    ("media", "mode", Kind::Str),
    ("media", "bind", Kind::Str),
    ("media", "public_ip", Kind::Str),
    ("media", "port_range", Kind::Str),
    ("media", "rtpengine", Kind::Str),
    ("media", "inactivity_secs", Kind::Int),
];

/// Dotted key (`xmpp.secret`) → the variable that set it, so that validation
/// errors can say where a bad value came from.
pub(crate) type Provenance = BTreeMap<String, String>;

/// Applies the `STOX_*` variables in `env` to `table`, in order (a later
/// variable for the same key wins).
pub(crate) fn apply(
    table: &mut Table,
    env: &[(String, String)],
) -> Result<Provenance, ConfigError> {
    let mut provenance = Provenance::new();
    for (var, text) in env {
        let upper = var.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("STOX_") else {
            continue;
        };
        if PROCESS_ENV_VARS.contains(&upper.as_str()) {
            continue;
        }
        let err = |problem: String| ConfigError::Env {
            var: var.clone(),
            problem,
        };
        // Only STOX_<SECTION>__<KEY> names are configuration; other STOX_*
        // variables (a deployment's STOX_BIN, say) belong to someone else.
        let Some((section, key)) = rest.split_once("__") else {
            continue;
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        if section == "trunk" || section == "number" {
            return Err(err(format!(
                "[[{section}]] entries can only be set in the configuration file"
            )));
        }
        let Some(&(section, key, kind)) = KEYS.iter().find(|(s, k, _)| *s == section && *k == key)
        else {
            return Err(err(
                "unknown configuration variable (expected STOX_<SECTION>__<KEY>, e.g. STOX_XMPP__SECRET)".into(),
            ));
        };
        let value = convert(text, kind).map_err(err)?;
        let entry = table
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(section_table) = entry else {
            return Err(err(format!("[{section}] in the file is not a table")));
        };
        section_table.insert(key.to_owned(), value);
        provenance.insert(format!("{section}.{key}"), var.clone());
    }
    Ok(provenance)
}

fn convert(text: &str, kind: Kind) -> Result<Value, String> {
    Ok(match kind {
        Kind::Str => Value::String(text.to_owned()),
        Kind::Int => {
            let n: u64 = text
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole number"))?;
            Value::Integer(i64::try_from(n).map_err(|_| format!("{text:?} is too large"))?)
        }
        Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Boolean(true),
            "false" | "0" | "no" => Value::Boolean(false),
            _ => return Err(format!("{text:?} is not true or false")),
        },
        Kind::List => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
    })
}
