//! `stox::config` and `stox check-config`: the example file is valid, each kind
//! of mistake is reported under its key, and STOX_* variables override the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use stox::config::{Config, ConfigError, Listen, ListenTransport};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/stox.example.toml");

/// The smallest valid file: only the required keys.
const MINIMAL: &str = "[xmpp]\ndomain = \"sip.example.net\"\nsecret = \"s3cret\"\n";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, &[])
}

/// The error's one-line rendering, as check-config prints it.
fn error_of(text: &str, vars: &[(&str, &str)]) -> String {
    match Config::from_toml_str(text, &env(vars)) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

// ---- the library -------------------------------------------------------------

#[test]
fn minimal_file_gets_the_documented_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.xmpp.server, "127.0.0.1:5347");
    assert_eq!(c.xmpp.reconnect_max_secs, 30);
    assert_eq!(
        c.sip.listen,
        vec![Listen {
            transport: ListenTransport::Udp,
            addr: "0.0.0.0:5060".parse().unwrap()
        }]
    );
    assert_eq!(c.sip.public_address, "127.0.0.1:5060");
    assert_eq!(
        c.sip.user_agent,
        format!("stox/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(c.database.url, "sqlite://stox.db");
    assert!(c.trunks.is_empty() && c.numbers.is_empty());
    assert!(
        c.policy.allow_outbound.is_empty(),
        "no open relay by default"
    );
    assert!(!c.policy.allow_sip_uris);
    assert_eq!(c.policy.default_trunk, None);
    assert_eq!(
        (c.calls.ring_timeout_secs, c.calls.trickle_deadline_ms),
        (60, 2000)
    );
    assert_eq!(c.calls.ring_timeout(), std::time::Duration::from_secs(60));
    assert_eq!(c.metrics.listen, None);
    let warnings = c.warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].starts_with("sip.public_address: 127.0.0.1:5060 is a loopback"));
}

#[test]
fn example_file_reads_as_documented() {
    let c = Config::from_toml_str(&std::fs::read_to_string(EXAMPLE).unwrap(), &[]).unwrap();
    assert_eq!(c.xmpp.domain, "sip.example.net");
    assert_eq!(c.sip.listen.len(), 2);
    assert_eq!(c.sip.listen[1].transport, ListenTransport::Tcp);
    assert_eq!(c.sip.public_address, "203.0.113.5:5060");
    let pbx = &c.trunks[0];
    assert_eq!(
        (
            pbx.name.as_str(),
            pbx.host.as_str(),
            pbx.port,
            pbx.transport
        ),
        ("pbx", "127.0.0.1", 5080, ListenTransport::Udp)
    );
    let carrier = &c.trunks[1];
    assert_eq!(
        (carrier.port, carrier.transport),
        (5060, ListenTransport::Tcp)
    );
    assert_eq!(c.numbers[0].did, "+15550001000");
    assert_eq!(c.policy.default_trunk.as_deref(), Some("pbx"));
    assert_eq!(c.metrics.listen, Some("127.0.0.1:9090".parse().unwrap()));
    assert_eq!(c.media.mode, stox::config::MediaMode::Embedded);
    assert_eq!(c.media.public_ip.to_string(), "203.0.113.5");
    assert_eq!(c.media.port_range, (20000, 29999));
    assert_eq!(
        (carrier.media, carrier.srtp),
        (
            Some(stox::config::MediaMode::Embedded),
            stox::config::SipSrtp::None
        )
    );
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

#[test]
fn public_address_defaults_to_a_concrete_listen_address() {
    let c = parse(&format!(
        "{MINIMAL}[sip]\nlisten = [\"udp:0.0.0.0:5070\", \"tcp:[2001:db8::2]:5071\"]\n"
    ))
    .unwrap();
    assert_eq!(c.sip.public_address, "[2001:db8::2]:5071");
    let c = parse(&format!(
        "{MINIMAL}[sip]\nlisten = [\"udp:0.0.0.0:5070\"]\n"
    ))
    .unwrap();
    assert_eq!(c.sip.public_address, "127.0.0.1:5070");
}

#[test]
fn default_trunk_is_the_first() {
    let c = parse(&format!("{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\n[[trunk]]\nname = \"b\"\nuri = \"sip:b.example\"\n")).unwrap();
    assert_eq!(c.policy.default_trunk.as_deref(), Some("a"));
    // No port written: the Request-URI names none (RFC 3263 location picks it).
    assert_eq!(c.trunks[1].hostport(), "b.example");
}

#[test]
fn trunk_uris_say_what_rfc_3263_location_starts_from() {
    let c = parse(&format!(
        "{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:pbx.test\"\n\
         [[trunk]]\nname = \"b\"\nuri = \"sip:pbx.test:5070;transport=tcp\"\n\
         [[trunk]]\nname = \"c\"\nuri = \"sip:[2001:db8::1]\"\n"
    ))
    .unwrap();
    let spec = |i: usize| c.trunks[i].target_spec();
    assert_eq!(
        (spec(0).host.as_str(), spec(0).port, spec(0).transport),
        ("pbx.test", None, None)
    );
    assert_eq!(
        (spec(1).port, spec(1).transport),
        (Some(5070), Some(stox::sip::peer::Transport::Tcp))
    );
    assert_eq!(c.trunks[1].hostport(), "pbx.test:5070");
    assert_eq!(spec(2).host, "2001:db8::1");
    assert!(spec(2).ip().is_some());
}

#[test]
fn dns_servers_from_the_file_or_the_environment() {
    assert!(parse(MINIMAL).unwrap().sip.dns_servers.is_empty());
    let c = parse(&format!(
        "{MINIMAL}[sip]\ndns_servers = [\"127.0.0.1:5353\", \"192.0.2.53\", \"[::1]:53\"]\n"
    ))
    .unwrap();
    let want: Vec<std::net::SocketAddr> = ["127.0.0.1:5353", "192.0.2.53:53", "[::1]:53"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(c.sip.dns_servers, want);
    let c = Config::from_toml_str(
        MINIMAL,
        &env(&[("STOX_SIP__DNS_SERVERS", "127.0.0.1:25353")]),
    )
    .unwrap();
    assert_eq!(c.sip.dns_servers, vec!["127.0.0.1:25353".parse().unwrap()]);
    assert_eq!(
        error_of(
            MINIMAL,
            &[("STOX_SIP__DNS_SERVERS", "127.0.0.1:5353, ns.example")]
        ),
        "sip.dns_servers[1]: \"ns.example\" is not ip[:port] (e.g. 127.0.0.1:5353 or [::1]:53) (set by STOX_SIP__DNS_SERVERS)"
    );
}

#[test]
fn syntax_and_shape_errors_have_line_and_column() {
    assert_eq!(
        error_of("[xmpp]\ndomain = \"a.b\"\n  secrt = \"x\"\n", &[]),
        "line 3, column 3: unknown field `secrt`, expected one of `domain`, `server`, `secret`, `reconnect_max_secs`"
    );
    assert!(error_of("[xmpp]\ndomain = \"a.b\n", &[]).starts_with("line 2, column "));
    assert!(error_of("[xmpp\n", &[]).starts_with("line 1, column "));
    assert!(error_of("[smtp]\nx = 1\n", &[]).contains("unknown field `smtp`"));
    let e = error_of(&format!("{MINIMAL}reconnect_max_secs = -3\n"), &[]);
    assert!(
        e.starts_with("line 4, column 22:") && e.contains("-3"),
        "{e}"
    );
    let e = error_of(
        &format!("{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a\"\nport = 5\n"),
        &[],
    );
    assert!(
        e.starts_with("line 7, column 1: unknown field `port`"),
        "{e}"
    );
}

#[test]
fn required_values() {
    assert_eq!(error_of("", &[]), "xmpp.domain: is required");
    assert_eq!(
        error_of("[xmpp]\ndomain = \"a.b\"\n", &[]),
        "xmpp.secret: is required"
    );
    assert_eq!(
        error_of("[xmpp]\ndomain = \"a.b\"\nsecret = \"  \"\n", &[]),
        "xmpp.secret: must not be empty"
    );
    assert_eq!(
        error_of(&format!("{MINIMAL}[[trunk]]\nuri = \"sip:a\"\n"), &[]),
        "trunk[0].name: is required"
    );
    assert_eq!(
        error_of(&format!("{MINIMAL}[[number]]\ndid = \"1\"\n"), &[]),
        "number[0].jid: is required"
    );
}

#[test]
fn bad_values_name_their_key() {
    let cases: &[(&str, &str)] = &[
        (
            "[xmpp]\ndomain = \"a@b\"\nsecret = \"s\"",
            "xmpp.domain: \"a@b\" is not a domain name",
        ),
        (
            "[xmpp]\nserver = \"localhost\"",
            "xmpp.server: \"localhost\" is not host:port",
        ),
        (
            "[xmpp]\nreconnect_max_secs = 0",
            "xmpp.reconnect_max_secs: must be at least 1",
        ),
        (
            "[sip]\nlisten = []",
            "sip.listen: must list at least one socket",
        ),
        (
            "[sip]\nlisten = [\"udp:0.0.0.0:5060\", \"sctp:0.0.0.0:5060\"]",
            "sip.listen[1]: \"sctp:0.0.0.0:5060\" is not udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT",
        ),
        (
            "[sip]\nlisten = [\"udp:1.2.3.4:99999\"]",
            "sip.listen[0]: \"udp:1.2.3.4:99999\" is not udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT",
        ),
        (
            "[sip]\nlisten = [\"udp:[::]:5060\", \"udp:[::]:5060\"]",
            "sip.listen[1]: \"udp:[::]:5060\" is already sip.listen[0]",
        ),
        (
            "[sip]\npublic_address = \"a b\"",
            "sip.public_address: \"a b\" is not host[:port]",
        ),
        (
            "[sip]\nuser_agent = \"x\\r\\nEvil: 1\"",
            "sip.user_agent: must be non-empty text on one line",
        ),
        (
            "[database]\nurl = \"mysql://x\"",
            "database.url: \"mysql://x\" is not a sqlite: or postgres:// URL, or none",
        ),
        (
            "[database]\nurl = \"mysql://u:pw@db/x\"",
            "database.url: \"mysql://u:***@db/x\" is not a sqlite: or postgres:// URL, or none",
        ),
        (
            "[database]\ninstance = \"gw 1\"",
            "database.instance: \"gw 1\" must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            "[database]\ninstance = \"\"",
            "database.instance: \"\" must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
        ),
        (
            "[database]\nlease_secs = 1",
            "database.lease_secs: 1 is outside 2..=300",
        ),
        (
            "[database]\nlease_secs = 301",
            "database.lease_secs: 301 is outside 2..=300",
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"foo\"",
            "trunk[0].uri: \"foo\" is not a sip: or sips: URI",
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"sip:a\"\n[[trunk]]\nname = \"q\"\nuri = \"foo\"",
            "trunk[1].uri: \"foo\" is not a sip: or sips: URI",
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"sip:a\"\n[[trunk]]\nname = \"p\"\nuri = \"sip:b\"",
            "trunk[1].name: \"p\" is already used by trunk[0]",
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"sip:a;transport=sctp\"",
            "trunk[0].uri: \"sip:a;transport=sctp\": transport=sctp is not supported (udp, tcp or tls)",
        ),
        (
            "[[number]]\ndid = \"+1 555 CALL-NOW\"\njid = \"a@b\"",
            "number[0].did: \"+1 555 CALL-NOW\" is not a telephone number",
        ),
        (
            "[[number]]\ndid = \"+15550001000\"\njid = \"a@b\"\n[[number]]\ndid = \"1-555-000-1000\"\njid = \"c@d\"",
            "number[1].did: \"1-555-000-1000\" is the same number as number[0].did",
        ),
        (
            "[[number]]\ndid = \"1000\"\njid = \"alice@example.net/phone\"",
            "number[0].jid: \"alice@example.net/phone\" is not a bare JID (user@domain, no /resource)",
        ),
        (
            "[[number]]\ndid = \"1000\"\njid = \"alice\"",
            "number[0].jid: \"alice\" is not a bare JID (user@domain, no /resource)",
        ),
        (
            "[policy]\nallow_outbound = [\"example.net\", \"a@b/c\"]",
            "policy.allow_outbound[1]: \"a@b/c\" is neither a domain nor a bare JID",
        ),
        (
            "[policy]\ndefault_trunk = \"nope\"",
            "policy.default_trunk: no [[trunk]] is named \"nope\"",
        ),
        (
            "[calls]\nring_timeout_secs = 0",
            "calls.ring_timeout_secs: must be at least 1",
        ),
        (
            "[metrics]\nlisten = \"localhost:9090\"",
            "metrics.listen: \"localhost:9090\" is not an ADDR:PORT socket address",
        ),
    ];
    for (extra, expected) in cases {
        // TOML forbids defining [xmpp] twice, so a case about [xmpp] is not
        // appended to MINIMAL; the required keys are added to it instead.
        let text = if extra.starts_with("[xmpp]") && !extra.contains("domain") {
            format!("{}\ndomain = \"sip.example.net\"\nsecret = \"s\"\n", extra)
        } else if extra.starts_with("[xmpp]") {
            extra.to_string()
        } else {
            format!("{MINIMAL}{extra}\n")
        };
        assert_eq!(&error_of(&text, &[]), expected, "for:\n{text}");
    }
}

#[test]
fn database_instance_lease_and_none() {
    // The instance defaults to the host name (HOSTNAME first), cut to the
    // allowed characters and length.
    let c = Config::from_toml_str(MINIMAL, &env(&[("HOSTNAME", "gw-1.example")])).unwrap();
    assert_eq!(
        (c.database.instance.as_str(), c.database.lease_secs),
        ("gw-1.example", 10)
    );
    assert!(c.database.enabled());
    let long = "h".repeat(80) + "!";
    let c = Config::from_toml_str(MINIMAL, &env(&[("HOSTNAME", &long)])).unwrap();
    assert_eq!(c.database.instance, "h".repeat(64));
    let c = parse(MINIMAL).unwrap();
    assert!(!c.database.instance.is_empty() && c.database.instance.len() <= 64);

    let text = format!(
        "{MINIMAL}[database]\nurl = \"postgres://db/stox\"\ninstance = \"a_b.c-1\"\nlease_secs = 300\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.database.url, "postgres://db/stox");
    assert_eq!(c.database.instance, "a_b.c-1");
    assert_eq!(c.database.lease_secs, 300);

    for url in ["none", "NONE", "", "  "] {
        let c = parse(&format!("{MINIMAL}[database]\nurl = \"{url}\"\n")).unwrap();
        assert_eq!(c.database.url, "none", "{url:?}");
        assert!(!c.database.enabled());
    }

    let c = Config::from_toml_str(
        MINIMAL,
        &env(&[
            ("STOX_DATABASE__URL", "none"),
            ("STOX_DATABASE__INSTANCE", "gw-b"),
            ("STOX_DATABASE__LEASE_SECS", "30"),
        ]),
    )
    .unwrap();
    assert_eq!(
        (
            c.database.url.as_str(),
            c.database.instance.as_str(),
            c.database.lease_secs
        ),
        ("none", "gw-b", 30)
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_DATABASE__LEASE_SECS", "0")]),
        "database.lease_secs: 0 is outside 2..=300 (set by STOX_DATABASE__LEASE_SECS)"
    );
}

#[test]
fn environment_overrides_the_file() {
    let vars = env(&[
        ("PATH", "/usr/bin"),
        ("STOX_XMPP__SECRET", "from-env"),
        ("stox_sip__listen", "udp:127.0.0.1:5062, tcp:[::1]:5063,"),
        ("STOX_POLICY__ALLOW_OUTBOUND", "example.net,bob@other.org"),
        ("STOX_POLICY__ALLOW_SIP_URIS", "TRUE"),
        ("STOX_CALLS__RING_TIMEOUT_SECS", "15"),
        ("STOX_METRICS__LISTEN", "[::1]:9100"),
        ("STOX_CONFIG", "/etc/stox.toml"),
    ]);
    let c = Config::from_toml_str(MINIMAL, &vars).unwrap();
    assert_eq!(c.xmpp.secret, "from-env");
    assert_eq!(
        c.xmpp.domain, "sip.example.net",
        "untouched keys keep the file's value"
    );
    assert_eq!(
        c.sip
            .listen
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["udp:127.0.0.1:5062", "tcp:[::1]:5063"]
    );
    assert_eq!(c.sip.public_address, "127.0.0.1:5062");
    assert_eq!(c.policy.allow_outbound, ["example.net", "bob@other.org"]);
    assert!(c.policy.allow_sip_uris);
    assert_eq!(c.calls.ring_timeout_secs, 15);
    assert_eq!(c.metrics.listen, Some("[::1]:9100".parse().unwrap()));
    // A section absent from the file is created; the secret can live only in the environment.
    let c = Config::from_toml_str(
        "[xmpp]\ndomain = \"gw.example\"\n",
        &env(&[("STOX_XMPP__SECRET", "x")]),
    )
    .unwrap();
    assert_eq!(c.xmpp.secret, "x");
    // Empty list = nobody; empty optional = off.
    let c = Config::from_toml_str(
        &format!("{MINIMAL}[policy]\nallow_outbound = [\"example.net\"]\n[metrics]\nlisten = \"127.0.0.1:9090\"\n"),
        &env(&[("STOX_POLICY__ALLOW_OUTBOUND", ""), ("STOX_METRICS__LISTEN", "")]),
    )
    .unwrap();
    assert!(c.policy.allow_outbound.is_empty());
    assert_eq!(c.metrics.listen, None);
}

#[test]
fn environment_errors_name_the_variable() {
    assert_eq!(
        error_of(MINIMAL, &[("STOX_XMPP__SECERT", "x")]),
        "STOX_XMPP__SECERT: unknown configuration variable (expected STOX_<SECTION>__<KEY>, e.g. STOX_XMPP__SECRET)"
    );
    // Without the double underscore a STOX_ variable is not configuration
    // (scripts use STOX_BIN and the like) and is left alone.
    assert!(Config::from_toml_str(MINIMAL, &[("STOX_BIN".to_string(), "x".to_string())]).is_ok());
    assert_eq!(
        error_of(MINIMAL, &[("STOX_TRUNK__URI", "sip:x")]),
        "STOX_TRUNK__URI: [[trunk]] entries can only be set in the configuration file"
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_CALLS__RING_TIMEOUT_SECS", "soon")]),
        "STOX_CALLS__RING_TIMEOUT_SECS: \"soon\" is not a whole number"
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_CALLS__RING_TIMEOUT_SECS", "-1")]),
        "STOX_CALLS__RING_TIMEOUT_SECS: \"-1\" is not a whole number"
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_POLICY__ALLOW_SIP_URIS", "maybe")]),
        "STOX_POLICY__ALLOW_SIP_URIS: \"maybe\" is not true or false"
    );
    // Validation errors about an overridden value say where it came from.
    assert_eq!(
        error_of(MINIMAL, &[("STOX_XMPP__SECRET", "")]),
        "xmpp.secret: must not be empty (set by STOX_XMPP__SECRET)"
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_SIP__LISTEN", "udp:0.0.0.0:5060,bogus")]),
        "sip.listen[1]: \"bogus\" is not udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT (set by STOX_SIP__LISTEN)"
    );
}

#[test]
fn secret_is_not_in_debug_output() {
    let c = parse(MINIMAL).unwrap();
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("s3cret") && dbg.contains("<redacted>"),
        "{dbg}"
    );
}

#[test]
fn load_file_reports_unreadable_files() {
    let err = Config::load_file(Path::new("/nonexistent/stox.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/stox.toml: cannot read: "),
        "{err}"
    );
}

// ---- stox check-config -------------------------------------------------------

/// Runs `stox check-config --config <file>` with only the given STOX_* variables.
fn check_config(file: &Path, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stox"));
    for (k, _) in std::env::vars() {
        if k.to_ascii_uppercase().starts_with("STOX_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("check-config")
        .arg("--config")
        .arg(file)
        .envs(vars.iter().copied());
    cmd.output().expect("the stox binary runs")
}

/// Writes `text` to a fresh file under the target directory.
fn temp_config(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn cli_accepts_the_example_file() {
    let out = check_config(Path::new(EXAMPLE), &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: 2 trunks, 2 numbers, xmpp component sip.example.net via 127.0.0.1:5347\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn cli_prints_warnings_but_succeeds() {
    let out = check_config(&temp_config("minimal.toml", MINIMAL), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "ok: 0 trunks, 0 numbers, xmpp component sip.example.net via 127.0.0.1:5347\n"
    );
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert!(
        stderr.lines().all(|l| l.starts_with("warning: ")),
        "{stderr}"
    );
}

#[test]
fn cli_reports_each_class_of_error_on_one_line_with_status_2() {
    let cases = [
        (
            temp_config("syntax.toml", "[xmpp\n"),
            "error: line 1, column ",
        ),
        (
            temp_config("unknown.toml", "[xmpp]\ndomain = \"a.b\"\nsecrt = \"x\"\n"),
            "error: line 3, column 1: unknown field `secrt`",
        ),
        (
            temp_config("missing.toml", "[xmpp]\ndomain = \"a.b\"\n"),
            "error: xmpp.secret: is required",
        ),
        (
            temp_config(
                "trunk.toml",
                &format!("{MINIMAL}[[trunk]]\nname = \"p\"\nuri = \"foo\"\n"),
            ),
            "error: trunk[0].uri: \"foo\" is not a sip: or sips: URI",
        ),
        (
            PathBuf::from("/nonexistent/stox.toml"),
            "error: /nonexistent/stox.toml: cannot read: ",
        ),
    ];
    for (path, expected) in cases {
        let out = check_config(&path, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert_eq!(text(&out.stdout), "");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(expected), "{stderr}");
    }
}

#[test]
fn cli_applies_environment_overrides() {
    let path = temp_config("env.toml", "[xmpp]\ndomain = \"sip.example.net\"\n");
    let out = check_config(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: xmpp.secret: is required\n");

    let out = check_config(
        &path,
        &[
            ("STOX_XMPP__SECRET", "x"),
            ("STOX_XMPP__SERVER", "xmpp.internal:5275"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: 0 trunks, 0 numbers, xmpp component sip.example.net via xmpp.internal:5275\n"
    );

    let out = check_config(Path::new(EXAMPLE), &[("STOX_XMPP__SECERT", "x")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: STOX_XMPP__SECERT: unknown configuration variable")
    );
}

#[test]
fn cli_takes_the_file_from_stox_config() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stox"));
    let out = cmd
        .arg("check-config")
        .env("STOX_CONFIG", EXAMPLE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: 2 trunks"));
}

#[test]
fn trunk_credentials_come_together_and_stay_out_of_debug_output() {
    let base = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sip:192.0.2.1\"\n");
    let c = parse(&format!(
        "{base}username = \"u\"\npassword = \"pw-secret\"\nrealm = \"r\"\n"
    ))
    .unwrap();
    let auth = c.trunks[0].auth.as_ref().unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("u", "pw-secret")
    );
    assert_eq!(auth.realm.as_deref(), Some("r"));
    assert!(!format!("{c:?}").contains("pw-secret"));
    assert_eq!(
        error_of(&format!("{base}username = \"u\"\n"), &[]),
        "trunk[0].password: is required when trunk username is set"
    );
    assert_eq!(
        error_of(&format!("{base}password = \"p\"\n"), &[]),
        "trunk[0].username: is required when trunk password is set"
    );
    assert_eq!(
        error_of(&format!("{base}realm = \"r\"\n"), &[]),
        "trunk[0].realm: needs trunk username and password"
    );
    assert_eq!(
        error_of(&format!("{base}inbound_auth = true\n"), &[]),
        "trunk[0].inbound_auth: needs trunk username and password: they are the credentials callers must present"
    );
    assert!(parse(&base).unwrap().trunks[0].auth.is_none());
}

#[test]
fn trunk_allow_from_ranges_are_validated() {
    let base = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sip:192.0.2.1\"\n");
    let c = parse(&format!(
        "{base}allow_from = [\"198.51.100.0/24\", \"2001:db8::1\"]\n"
    ))
    .unwrap();
    assert_eq!(c.trunks[0].allow_from.len(), 2);
    assert_eq!(
        error_of(
            &format!("{base}allow_from = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n"),
            &[]
        ),
        "trunk[0].allow_from[1]: \"10.0.0.0/40\": prefix must be 0..=32"
    );
}

#[test]
fn trunk_caller_id_keys_default_and_validate() {
    let base = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sip:192.0.2.1\"\n");
    let t = parse(&base).unwrap().trunks.remove(0);
    assert_eq!((t.from_user, t.from_domain), (None, None));
    assert!(!t.assert_identity, "no P-Asserted-Identity unless asked");
    assert!(t.caller_id_from_did, "DID caller ID is on by default");
    let t = parse(&format!(
        "{base}from_user = \"4420555\"\nfrom_domain = \"carrier.example\"\n\
         assert_identity = true\ncaller_id_from_did = false\n"
    ))
    .unwrap()
    .trunks
    .remove(0);
    assert_eq!(t.from_user.as_deref(), Some("4420555"));
    assert_eq!(t.from_domain.as_deref(), Some("carrier.example"));
    assert!(t.assert_identity && !t.caller_id_from_did);
    assert!(
        !t.trickle_ice,
        "trickle ICE is learnt from the peer by default"
    );
    let t = parse(&format!("{base}trickle_ice = true\n"))
        .unwrap()
        .trunks
        .remove(0);
    assert!(t.trickle_ice);
    assert!(parse(&format!("{base}trickle_ice = \"yes\"\n")).is_err());
    for (line, err) in [
        (
            "from_user = \"\"",
            "trunk[0].from_user: \"\" is not a SIP user part",
        ),
        (
            "from_user = \"a b\"",
            "trunk[0].from_user: \"a b\" is not a SIP user part",
        ),
        (
            "from_user = \"a@b\"",
            "trunk[0].from_user: \"a@b\" is not a SIP user part",
        ),
        (
            "from_domain = \"a b\"",
            "trunk[0].from_domain: \"a b\" is not host[:port]",
        ),
        ("assert_identity = \"yes\"", "expected a boolean"),
    ] {
        let e = error_of(&format!("{base}{line}\n"), &[]);
        assert!(e.contains(err), "{line}: {e}");
    }
}

#[test]
fn trunk_codecs_are_known_names_without_repeats() {
    let base = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sip:192.0.2.1\"\n");
    assert!(parse(&base).unwrap().trunks[0].codecs.is_empty());
    let c = parse(&format!(
        "{base}codecs = [\"pcma\", \"PCMU\", \"Opus\", \"telephone-event\"]\n"
    ))
    .unwrap();
    assert_eq!(
        c.trunks[0].codecs,
        ["pcma", "PCMU", "Opus", "telephone-event"]
    );
    assert_eq!(
        error_of(&format!("{base}codecs = [\"PCMU\", \"mp3\"]\n"), &[]),
        "trunk[0].codecs[1]: \"mp3\" is not a known codec (e.g. PCMU, PCMA, G722, G729, opus)"
    );
    assert_eq!(
        error_of(&format!("{base}codecs = [\"PCMU\", \"pcmu\"]\n"), &[]),
        "trunk[0].codecs[1]: \"pcmu\" is already trunk[0].codecs[0]"
    );
    assert_eq!(
        error_of(&format!("{base}codecs = []\n"), &[]),
        "trunk[0].codecs: must list at least one codec (leave the key out for no filtering)"
    );
}

#[test]
fn trunk_outbound_proxy_is_located_instead_of_the_trunk() {
    let base = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sip:pbx.test\"\n");
    let t = parse(&base).unwrap().trunks.remove(0);
    assert_eq!(t.outbound_proxy, None);
    assert_eq!(t.target_spec().host, "pbx.test");
    let t = parse(&format!(
        "{base}outbound_proxy = \"sip:proxy.test:5070;transport=tcp;lr\"\n"
    ))
    .unwrap()
    .trunks
    .remove(0);
    let proxy = t.outbound_proxy.as_ref().unwrap();
    assert_eq!(proxy.uri, "sip:proxy.test:5070;transport=tcp");
    assert_eq!(proxy.route(), "<sip:proxy.test:5070;transport=tcp;lr>");
    let spec = t.target_spec();
    assert_eq!(
        (spec.host.as_str(), spec.port, spec.transport),
        (
            "proxy.test",
            Some(5070),
            Some(stox::sip::peer::Transport::Tcp)
        )
    );
    // The Request-URI side is still the trunk's.
    assert_eq!(t.hostport(), "pbx.test");
    for (line, err) in [
        (
            "outbound_proxy = \"http://proxy\"",
            "trunk[0].outbound_proxy: \"http://proxy\" is not a sip: or sips: URI",
        ),
        (
            "outbound_proxy = \"sip:u@proxy\"",
            "trunk[0].outbound_proxy: \"sip:u@proxy\": a trunk URI names a host",
        ),
        (
            "outbound_proxy = \"sip:proxy;maddr=x\"",
            "trunk[0].outbound_proxy: \"sip:proxy;maddr=x\": unknown parameter ;maddr=x",
        ),
    ] {
        let e = error_of(&format!("{base}{line}\n"), &[]);
        assert!(e.starts_with(err), "{line}: {e}");
    }
    let sips = format!("{MINIMAL}[[trunk]]\nname = \"t\"\nuri = \"sips:pbx.test\"\n");
    let e = error_of(&format!("{sips}outbound_proxy = \"sip:proxy.test\"\n"), &[]);
    assert!(
        e.starts_with(
            "trunk[0].outbound_proxy: \"sip:proxy.test\": a sips: trunk must be reached over TLS"
        ),
        "{e}"
    );
    assert!(parse(&format!("{sips}outbound_proxy = \"sips:proxy.test\"\n")).is_ok());
}

// ---- TLS keys ----------------------------------------------------------------

/// A self-signed certificate and its key, plus a second, unrelated key, as PEM
/// files in a fresh directory: (cert, key, other key).
fn tls_files(tag: &str) -> (String, String, String) {
    let dir = std::env::temp_dir().join(format!("stox-config-tls-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["gw.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let paths = ["cert.pem", "key.pem", "other.pem"].map(|f| dir.join(f));
    std::fs::write(&paths[0], cert.pem()).unwrap();
    std::fs::write(&paths[1], key.serialize_pem()).unwrap();
    std::fs::write(&paths[2], other.serialize_pem()).unwrap();
    let [c, k, o] = paths.map(|p| p.display().to_string());
    (c, k, o)
}

#[test]
fn tls_listener_and_sips_trunk_read_as_written() {
    let (cert, key, _) = tls_files("ok");
    let c = parse(&format!(
        "{MINIMAL}[sip]\nlisten = [\"udp:0.0.0.0:5060\", \"tls:0.0.0.0:5061\"]\ntls_cert = {cert:?}\ntls_key = {key:?}\ntls_client_ca = {cert:?}\n\
         [[trunk]]\nname = \"a\"\nuri = \"sips:pbx.example.org\"\ntls_ca = {cert:?}\ntls_client_cert = {cert:?}\ntls_client_key = {key:?}\n\
         [[trunk]]\nname = \"b\"\nuri = \"sip:192.0.2.7;transport=tls\"\ntls_server_name = \"sbc.example.org\"\n\
         [[trunk]]\nname = \"c\"\nuri = \"sips:[2001:db8::9]:5071\"\n"
    ))
    .unwrap();
    assert_eq!(c.sip.listen[1].transport, ListenTransport::Tls);
    assert_eq!(c.sip.tls_cert.as_deref(), Some(Path::new(&cert)));
    assert!(c.warnings().iter().all(|w| !w.starts_with("sip.tls")));
    let a = &c.trunks[0];
    assert_eq!((a.port, a.transport), (5061, ListenTransport::Tls));
    let tls = a.tls.as_ref().unwrap();
    assert_eq!(tls.server_name, "pbx.example.org");
    assert_eq!(tls.ca.as_deref(), Some(Path::new(&cert)));
    assert_eq!(
        tls.client_cert,
        Some((PathBuf::from(&cert), PathBuf::from(&key)))
    );
    let b = c.trunks[1].tls.as_ref().unwrap();
    assert_eq!((b.server_name.as_str(), &b.ca), ("sbc.example.org", &None));
    // An IP-literal host is verified as an IP address, without brackets.
    assert_eq!(c.trunks[2].tls.as_ref().unwrap().server_name, "2001:db8::9");
    assert_eq!(c.trunks[2].port, 5071);
}

#[test]
fn tls_mistakes_name_their_key() {
    let (cert, key, other) = tls_files("bad");
    let tls_listen = "[sip]\nlisten = [\"tls:0.0.0.0:5061\"]\n";
    let cases: Vec<(String, String)> = vec![
        (
            tls_listen.to_string(),
            "sip.tls_cert: is required with a tls: listener".into(),
        ),
        (
            format!("{tls_listen}tls_cert = {cert:?}\n"),
            "sip.tls_key: is required with sip.tls_cert".into(),
        ),
        (
            format!("{tls_listen}tls_cert = \"/nonexistent/cert.pem\"\ntls_key = {key:?}\n"),
            "sip.tls_cert: /nonexistent/cert.pem: ".into(),
        ),
        (
            format!("{tls_listen}tls_cert = {key:?}\ntls_key = {key:?}\n"),
            format!("sip.tls_cert: {key}: no PEM certificate (BEGIN CERTIFICATE) in it"),
        ),
        (
            format!("{tls_listen}tls_cert = {cert:?}\ntls_key = {cert:?}\n"),
            format!("sip.tls_key: {cert}: "),
        ),
        (
            format!("{tls_listen}tls_cert = {cert:?}\ntls_key = {other:?}\n"),
            format!("sip.tls_key: {other}: is not the key of the certificate in {cert}"),
        ),
        (
            format!(
                "{tls_listen}tls_cert = {cert:?}\ntls_key = {key:?}\ntls_client_ca = {key:?}\n"
            ),
            format!("sip.tls_client_ca: {key}: no PEM certificate"),
        ),
        (
            format!("[[trunk]]\nname = \"p\"\nuri = \"sip:pbx\"\ntls_ca = {cert:?}\n"),
            "trunk[0].tls_ca: is for a TLS trunk only (uri = \"sips:…\" or \";transport=tls\")"
                .into(),
        ),
        (
            format!("[[trunk]]\nname = \"p\"\nuri = \"sips:pbx\"\ntls_client_cert = {cert:?}\n"),
            "trunk[0].tls_client_key: is required with tls_client_cert".into(),
        ),
        (
            format!(
                "[[trunk]]\nname = \"p\"\nuri = \"sips:pbx\"\ntls_client_cert = {cert:?}\ntls_client_key = {other:?}\n"
            ),
            format!(
                "trunk[0].tls_client_key: {other}: is not the key of the certificate in {cert}"
            ),
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"sips:pbx\"\ntls_ca = \"/nonexistent/ca.pem\"\n"
                .into(),
            "trunk[0].tls_ca: /nonexistent/ca.pem: ".into(),
        ),
        (
            "[[trunk]]\nname = \"p\"\nuri = \"sips:pbx\"\ntls_server_name = \"not a name\"\n"
                .into(),
            "trunk[0].tls_server_name: \"not a name\" is neither a DNS name nor an IP address"
                .into(),
        ),
    ];
    for (extra, expected) in cases {
        let err = error_of(&format!("{MINIMAL}{extra}"), &[]);
        assert!(
            err.starts_with(&expected),
            "{extra}\n got: {err}\nwant: {expected}"
        );
    }
}

#[test]
fn tls_files_without_a_tls_listener_are_a_warning() {
    let (cert, key, _) = tls_files("warn");
    let c = parse(&format!(
        "{MINIMAL}[sip]\ntls_cert = {cert:?}\ntls_key = {key:?}\ntls_client_ca = {cert:?}\n"
    ))
    .unwrap();
    let w = c.warnings();
    assert!(
        w.iter().any(|w| w.starts_with("sip.tls_cert: set, but")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("sip.tls_client_ca: set, but")),
        "{w:?}"
    );
}

// ---- [media] ---------------------------------------------------------------------

#[test]
fn media_defaults_anchor_in_the_embedded_relay() {
    use std::net::IpAddr;
    use stox::config::{MediaMode, SipSrtp};
    let c = parse(&format!(
        "{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\n"
    ))
    .unwrap();
    assert_eq!(c.media.mode, MediaMode::Embedded);
    assert_eq!(c.media.bind, "0.0.0.0".parse::<IpAddr>().unwrap());
    // bind is unspecified: the IP of sip.public_address (127.0.0.1:5060 here).
    assert_eq!(c.media.public_ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(c.media.port_range, (20000, 29999));
    assert_eq!(c.media.rtpengine, None);
    assert_eq!(c.media.inactivity_secs, 60);
    assert_eq!((c.trunks[0].media, c.trunks[0].srtp), (None, SipSrtp::None));
    assert_eq!(c.media.mode_for(Some(&c.trunks[0])), MediaMode::Embedded);
    // No warning beyond the SIP loopback one MINIMAL already gets.
    assert!(c.warnings().iter().all(|w| !w.starts_with("media.")));
}

#[test]
fn media_public_ip_follows_bind_then_the_sip_address() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let c = parse(&format!("{MINIMAL}[media]\nbind = \"192.0.2.7\"\n")).unwrap();
    assert_eq!(
        (c.media.bind, c.media.public_ip),
        (ip("192.0.2.7"), ip("192.0.2.7"))
    );
    let c = parse(&format!(
        "{MINIMAL}[sip]\npublic_address = \"[2001:db8::5]:5060\"\n[media]\nbind = \"::\"\n"
    ))
    .unwrap();
    assert_eq!(c.media.public_ip, ip("2001:db8::5"));
    let c = parse(&format!(
        "{MINIMAL}[media]\nbind = \"10.0.0.2\"\npublic_ip = \"203.0.113.5\"\n"
    ))
    .unwrap();
    assert_eq!(
        (c.media.bind, c.media.public_ip),
        (ip("10.0.0.2"), ip("203.0.113.5"))
    );
    // A host name as the SIP address: loopback, and check-config says so.
    let named = format!("{MINIMAL}[sip]\npublic_address = \"sip.example.net:5060\"\n");
    let c = parse(&named).unwrap();
    assert_eq!(c.media.public_ip, ip("127.0.0.1"));
    let w: Vec<String> = c
        .warnings()
        .into_iter()
        .filter(|w| w.starts_with("media."))
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("media.public_ip: 127.0.0.1 is a loopback address"));
    // Passed through, the media address is never used: no warning.
    let c = parse(&format!("{named}[media]\nmode = \"passthrough\"\n")).unwrap();
    assert!(c.warnings().iter().all(|w| !w.starts_with("media.")));
}

#[test]
fn media_keys_and_trunk_overrides_read_as_written() {
    use stox::config::{MediaMode, SipSrtp};
    let c = parse(&format!(
        "{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\nmedia = \"rtpengine\"\nsrtp = \"sdes\"\n\
         [[trunk]]\nname = \"b\"\nuri = \"sip:b.example\"\nmedia = \"Passthrough\"\n\
         [media]\nmode = \"embedded\"\nport_range = \"30000-30003\"\nrtpengine = \"udp:127.0.0.1:2223\"\ninactivity_secs = 0\n"
    ))
    .unwrap();
    assert_eq!(c.media.port_range, (30000, 30003));
    assert_eq!(c.media.rtpengine, Some("127.0.0.1:2223".parse().unwrap()));
    assert_eq!(c.media.inactivity_secs, 0);
    assert_eq!(
        (c.trunks[0].media, c.trunks[0].srtp),
        (Some(MediaMode::Rtpengine), SipSrtp::Sdes)
    );
    assert_eq!(c.trunks[1].media, Some(MediaMode::Passthrough));
    assert_eq!(c.media.mode_for(Some(&c.trunks[0])), MediaMode::Rtpengine);
    assert_eq!(c.media.mode_for(Some(&c.trunks[1])), MediaMode::Passthrough);
    assert_eq!(c.media.mode_for(None), MediaMode::Embedded);
    // The scheme is optional.
    let c = parse(&format!(
        "{MINIMAL}[media]\nmode = \"rtpengine\"\nrtpengine = \"[::1]:2223\"\n"
    ))
    .unwrap();
    assert_eq!(c.media.rtpengine, Some("[::1]:2223".parse().unwrap()));
}

#[test]
fn media_mistakes_name_their_key() {
    let trunk = "[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\n";
    for (extra, want) in [
        (
            "[media]\nmode = \"relay\"\n".to_string(),
            "media.mode: \"relay\" is not passthrough, embedded or rtpengine",
        ),
        (
            "[media]\nbind = \"any\"\n".into(),
            "media.bind: \"any\" is not an IP address",
        ),
        (
            "[media]\npublic_ip = \"media.example\"\n".into(),
            "media.public_ip: \"media.example\" is not an IP address",
        ),
        (
            "[media]\npublic_ip = \"0.0.0.0\"\n".into(),
            "media.public_ip: \"0.0.0.0\" is no address peers can send media to",
        ),
        (
            "[media]\nport_range = \"20000\"\n".into(),
            "media.port_range: \"20000\" is not LOW-HIGH (e.g. 20000-29999)",
        ),
        (
            "[media]\nport_range = \"20000-70000\"\n".into(),
            "media.port_range: \"20000-70000\" is not LOW-HIGH (e.g. 20000-29999)",
        ),
        (
            "[media]\nport_range = \"30000-20000\"\n".into(),
            "media.port_range: \"30000-20000\": 30000 is above 20000",
        ),
        (
            "[media]\nport_range = \"1000-2000\"\n".into(),
            "media.port_range: \"1000-2000\": ports below 1024 are reserved",
        ),
        (
            "[media]\nport_range = \"20000-20002\"\n".into(),
            "media.port_range: \"20000-20002\": at least 4 ports are needed (RTP and RTCP of two legs)",
        ),
        (
            "[media]\nmode = \"rtpengine\"\n".into(),
            "media.rtpengine: is required when media.mode is rtpengine",
        ),
        (
            format!("{trunk}media = \"rtpengine\"\n"),
            "media.rtpengine: is required when trunk[0].media is rtpengine",
        ),
        (
            "[media]\nrtpengine = \"tcp:127.0.0.1:2223\"\n".into(),
            "media.rtpengine: \"tcp:127.0.0.1:2223\" is not udp:ADDR:PORT (e.g. udp:127.0.0.1:2223)",
        ),
        (
            format!("{trunk}media = \"direct\"\n"),
            "trunk[0].media: \"direct\" is not passthrough, embedded or rtpengine",
        ),
        (
            format!("{trunk}srtp = \"dtls\"\n"),
            "trunk[0].srtp: \"dtls\" is not none or sdes",
        ),
    ] {
        assert_eq!(error_of(&format!("{MINIMAL}{extra}"), &[]), want, "{extra}");
    }
    let e = error_of(&format!("{MINIMAL}[media]\nports = \"1-2\"\n"), &[]);
    assert!(e.contains("unknown field `ports`"), "{e}");
}

#[test]
fn media_keys_come_from_the_environment_too() {
    use stox::config::MediaMode;
    let c = Config::from_toml_str(
        MINIMAL,
        &env(&[
            ("STOX_MEDIA__MODE", "passthrough"),
            ("STOX_MEDIA__PORT_RANGE", "40000-40999"),
            ("STOX_MEDIA__PUBLIC_IP", "198.51.100.4"),
            ("STOX_MEDIA__INACTIVITY_SECS", "0"),
        ]),
    )
    .unwrap();
    assert_eq!(c.media.mode, MediaMode::Passthrough);
    assert_eq!(c.media.port_range, (40000, 40999));
    assert_eq!(
        c.media.public_ip,
        "198.51.100.4".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(c.media.inactivity_secs, 0);
    assert_eq!(
        error_of(MINIMAL, &[("STOX_MEDIA__MODE", "rtpengine")]),
        "media.rtpengine: is required when media.mode is rtpengine"
    );
    assert_eq!(
        error_of(MINIMAL, &[("STOX_MEDIA__MODE", "bogus")]),
        "media.mode: \"bogus\" is not passthrough, embedded or rtpengine (set by STOX_MEDIA__MODE)"
    );
}

/// Issue 7, DTMF: a trunk's `dtmf` is auto unless written, any case, and a
/// wrong value names the key and the choices.
#[test]
fn trunk_dtmf_reads_as_written_and_defaults_to_auto() {
    use stox::config::DtmfMode;
    let c = parse(&format!(
        "{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\n\
         [[trunk]]\nname = \"b\"\nuri = \"sip:b.example\"\ndtmf = \"INFO\"\n\
         [[trunk]]\nname = \"c\"\nuri = \"sip:c.example\"\ndtmf = \"rfc4733\"\n\
         [[trunk]]\nname = \"d\"\nuri = \"sip:d.example\"\ndtmf = \"auto\"\n"
    ))
    .unwrap();
    let modes: Vec<DtmfMode> = c.trunks.iter().map(|t| t.dtmf).collect();
    assert_eq!(
        modes,
        [
            DtmfMode::Auto,
            DtmfMode::Info,
            DtmfMode::Rfc4733,
            DtmfMode::Auto
        ]
    );
    assert_eq!(
        error_of(
            &format!(
                "{MINIMAL}[[trunk]]\nname = \"a\"\nuri = \"sip:a.example\"\ndtmf = \"inband\"\n"
            ),
            &[]
        ),
        "trunk[0].dtmf: \"inband\" is not auto, info or rfc4733"
    );
}
