//! The `stox translate` command line, driven as a user (or a script) would: the
//! binary built by Cargo, real corpus files, stdin, stdout, stderr, exit status.
//!
//! Contract under test (src/cli/translate.rs): the result goes to stdout; each
//! warning is one `warning: …` line on stderr and the exit status stays 0; bad
//! input gives exactly one `error: …` line and exit status 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The shared interop corpus (see ../shared/corpus/INDEX.md).
fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(rel)
}

fn read_corpus(rel: &str) -> String {
    let path = corpus(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} (is ../shared/corpus there?): {e}",
            path.display()
        )
    })
}

/// Runs `stox <args>`, feeding `stdin` (or nothing) on standard input.
fn stox(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stox"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stox binary runs");
    {
        // Dropping the handle closes stdin, so a reader that waits for EOF ends.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
    }
    child.wait_with_output().expect("stox finishes")
}

/// Runs `stox <args> <corpus file>`.
fn stox_file(args: &[&str], rel: &str) -> Output {
    let path = corpus(rel);
    let path = path.to_str().expect("UTF-8 path");
    let mut all = args.to_vec();
    all.push(path);
    stox(&all, None)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts exit 0 and returns stdout.
#[track_caller]
fn success(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected exit 0\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// Asserts exit 2, nothing on stdout, exactly one `error: …` line on stderr;
/// returns that line.
#[track_caller]
fn bad_input(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout on error, got:\n{}",
        stdout(out)
    );
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one stderr line, got:\n{err}");
    assert!(
        lines[0].starts_with("error: "),
        "stderr line starts with 'error: ': {err}"
    );
    lines[0].to_string()
}

/// Every line ends in CRLF (no bare LF, no missing final line end), starts with v=0.
#[track_caller]
fn assert_sdp_crlf(sdp: &str) {
    assert!(
        sdp.starts_with("v=0\r\n"),
        "SDP starts with v=0 CRLF:\n{sdp}"
    );
    assert!(sdp.ends_with("\r\n"), "SDP ends with CRLF:\n{sdp:?}");
    for (n, line) in sdp.split_inclusive('\n').enumerate() {
        assert!(
            line.ends_with("\r\n"),
            "line {} does not end in CRLF: {line:?}",
            n + 1
        );
        assert!(
            !line[..line.len() - 2].contains('\r'),
            "stray CR in line {}: {line:?}",
            n + 1
        );
    }
}

const CHROME_OFFER: &str = "sdp/stanza-audio-video-chrome-offer.sdp";

// ---------------------------------------------------------------- sdp-to-jingle

#[test]
fn sdp_to_jingle_from_file_reflects_action_and_sid() {
    let out = stox_file(
        &[
            "translate",
            "sdp-to-jingle",
            "--action",
            "session-initiate",
            "--sid",
            "abc",
        ],
        CHROME_OFFER,
    );
    let xml = success(&out);
    let first = xml.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("<jingle xmlns='urn:xmpp:jingle:1'"),
        "first line: {first}"
    );
    assert!(
        first.contains("action='session-initiate'"),
        "first line: {first}"
    );
    assert!(first.contains("sid='abc'"), "first line: {first}");
    assert!(
        xml.contains("<content creator='initiator' name='0'"),
        "{xml}"
    );
    assert!(xml.contains("media='video'"), "{xml}");
    assert!(xml.trim_end().ends_with("</jingle>"), "{xml}");
}

#[test]
fn sdp_to_jingle_compact_is_one_line() {
    let out = stox_file(
        &["translate", "sdp-to-jingle", "--compact", "--sid", "abc"],
        CHROME_OFFER,
    );
    let xml = success(&out);
    assert_eq!(xml.lines().count(), 1, "{xml}");
    assert!(
        xml.starts_with("<jingle xmlns='urn:xmpp:jingle:1'"),
        "{xml}"
    );
    assert!(xml.ends_with("</jingle>\n"), "{xml}");
}

#[test]
fn sdp_to_jingle_reads_stdin() {
    let from_file = success(&stox_file(
        &["translate", "sdp-to-jingle", "--sid", "abc"],
        CHROME_OFFER,
    ));
    let from_stdin = success(&stox(
        &["translate", "sdp-to-jingle", "--sid", "abc"],
        Some(&read_corpus(CHROME_OFFER)),
    ));
    assert!(
        from_stdin.starts_with("<jingle xmlns='urn:xmpp:jingle:1'"),
        "{from_stdin}"
    );
    assert_eq!(from_stdin, from_file);
}

#[test]
fn sdp_to_jingle_accepts_pasted_log_lf_leading_blank_lines_indentation() {
    let original = read_corpus(CHROME_OFFER);
    // As pasted from a log: LF only, blank lines first, every line indented.
    let pasted: String = std::iter::once("\n\n".to_string())
        .chain(original.lines().map(|l| format!("    {l}\n")))
        .collect();
    let from_paste = success(&stox(&["translate", "sdp-to-jingle"], Some(&pasted)));
    let from_file = success(&stox_file(&["translate", "sdp-to-jingle"], CHROME_OFFER));
    assert_eq!(from_paste, from_file);

    // The fixture is LF-only; the same session with CRLF line ends, as on the wire.
    let crlf = original.replace('\n', "\r\n");
    let from_crlf = success(&stox(&["translate", "sdp-to-jingle"], Some(&crlf)));
    assert_eq!(from_crlf, from_file);

    // A real LF-only capture that starts with an empty line.
    let pjsip = stox_file(
        &["translate", "sdp-to-jingle"],
        "sdp/pjsip-test-offer-session-level-sendonly.sdp",
    );
    let xml = success(&pjsip);
    assert!(
        xml.contains("<payload-type id='0' name='PCMU' clockrate='8000'/>"),
        "{xml}"
    );
}

#[test]
fn sdp_to_jingle_role_flips_sendonly() {
    let file = "sdp/rtpengine-sonus-offer-sendonly-msid.sdp";
    assert!(read_corpus(file).contains("a=sendonly"));

    let as_initiator = success(&stox_file(&["translate", "sdp-to-jingle"], file));
    assert!(
        as_initiator.contains("senders='initiator'"),
        "{as_initiator}"
    );
    assert!(
        !as_initiator.contains("senders='responder'"),
        "{as_initiator}"
    );

    let explicit = success(&stox_file(
        &["translate", "sdp-to-jingle", "--role", "initiator"],
        file,
    ));
    assert_eq!(explicit, as_initiator, "--role initiator is the default");

    let as_responder = success(&stox_file(
        &["translate", "sdp-to-jingle", "--role", "responder"],
        file,
    ));
    assert!(
        as_responder.contains("senders='responder'"),
        "{as_responder}"
    );
    assert!(
        !as_responder.contains("senders='initiator'"),
        "{as_responder}"
    );
}

#[test]
fn sdp_to_jingle_warnings_go_to_stderr_with_exit_0() {
    let out = stox_file(
        &["translate", "sdp-to-jingle"],
        "sdp/sdptransform-bfcp-video-endpoint.sdp",
    );
    let xml = success(&out);
    assert!(
        xml.starts_with("<jingle xmlns='urn:xmpp:jingle:1'"),
        "{xml}"
    );
    assert!(!xml.contains("warning"), "warnings stay off stdout:\n{xml}");
    let err = stderr(&out);
    assert!(!err.is_empty(), "the BFCP m-line is reported");
    for line in err.lines() {
        assert!(
            line.starts_with("warning: "),
            "every stderr line is a warning: {line}"
        );
    }
    assert!(
        err.lines().any(|l| l.contains("BFCP")),
        "one warning names the BFCP m-line:\n{err}"
    );
    // The two video m-lines and the audio survive; the BFCP one does not.
    assert_eq!(xml.matches("<content ").count(), 3, "{xml}");
}

#[test]
fn sdp_to_jingle_bad_line_exits_2_naming_the_line() {
    let original = read_corpus(CHROME_OFFER);
    let mut lines: Vec<&str> = original.lines().collect();
    lines.insert(7, "this is not sdp");
    let broken = lines.join("\r\n") + "\r\n";

    let line = bad_input(&stox(&["translate", "sdp-to-jingle"], Some(&broken)));
    assert!(line.starts_with("error: line 8"), "{line}");
    assert!(
        line.contains("this is not sdp"),
        "the message quotes the line: {line}"
    );

    // Same through a file, and with a malformed m= line.
    let line = bad_input(&stox(
        &["translate", "sdp-to-jingle"],
        Some("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio port RTP/AVP 0\n"),
    ));
    assert!(line.starts_with("error: line 5"), "{line}");
    assert!(line.contains("m=audio port RTP/AVP 0"), "{line}");
}

#[test]
fn sdp_to_jingle_rejects_non_utf8_and_missing_file() {
    let dir = std::env::temp_dir().join(format!("stox-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let latin1 = dir.join("latin1.sdp");
    std::fs::write(&latin1, b"v=0\r\ns=caf\xe9\r\n").unwrap();
    let line = bad_input(&stox(
        &["translate", "sdp-to-jingle", latin1.to_str().unwrap()],
        None,
    ));
    assert!(line.contains("UTF-8"), "{line}");

    let missing = dir.join("missing.sdp");
    let line = bad_input(&stox(
        &["translate", "sdp-to-jingle", missing.to_str().unwrap()],
        None,
    ));
    assert!(line.contains("missing.sdp"), "{line}");
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------- jingle-to-sdp

#[test]
fn jingle_to_sdp_accepts_iq_jingle_and_bare_content() {
    for (file, root) in [
        ("jingle/stanza-xep0167-session-initiate-chrome.xml", "<iq"),
        (
            "jingle/stanza-generated-from-firefox58-offer-audio.xml",
            "<jingle",
        ),
        (
            "jingle/mongooseim-content-chrome-audio-opus-ssma.xml",
            "<content",
        ),
    ] {
        assert!(
            read_corpus(file).trim_start().starts_with(root),
            "{file} is rooted at {root}"
        );
        let out = stox_file(&["translate", "jingle-to-sdp"], file);
        let sdp = success(&out);
        assert_sdp_crlf(&sdp);
        assert!(sdp.contains("\r\nm=audio "), "{file}:\n{sdp}");
    }
}

#[test]
fn jingle_to_sdp_reads_stdin() {
    let file = "jingle/stanza-xep0167-session-initiate-chrome.xml";
    let from_file = success(&stox_file(&["translate", "jingle-to-sdp"], file));
    let from_stdin = success(&stox(
        &["translate", "jingle-to-sdp"],
        Some(&read_corpus(file)),
    ));
    assert_sdp_crlf(&from_stdin);
    assert_eq!(from_stdin, from_file);
}

#[test]
fn jingle_to_sdp_malformed_xml_exits_2() {
    let line = bad_input(&stox(
        &["translate", "jingle-to-sdp"],
        Some("<jingle xmlns='urn:xmpp:jingle:1'>\n<content name='a'>\n</jingle>\n"),
    ));
    assert!(line.starts_with("error: line"), "{line}");

    let line = bad_input(&stox(
        &["translate", "jingle-to-sdp"],
        Some("not xml at all"),
    ));
    assert!(line.starts_with("error: line"), "{line}");
}

#[test]
fn jingle_to_sdp_telephone_event_dialects_all_give_bare_fmtp() {
    // Three encodings of the telephone-event fmtp "0-15" found in the wild
    // (corpus INDEX.md, "Hardest cases").
    for (file, pt) in [
        // Jitsi focus: <parameter name="" value="0-15"/>
        (
            "jingle/jitsi-libjitsimeet-session-initiate-from-focus.xml",
            126,
        ),
        // jingle.js (Firefox): <parameter value="0-15"/>, no name
        (
            "jingle/mongooseim-content-firefox-audio-nameless-parameter.xml",
            101,
        ),
        // stanza: <parameter name="0-15"/>, no value
        (
            "jingle/stanza-generated-from-firefox58-offer-audio.xml",
            101,
        ),
    ] {
        let sdp = success(&stox_file(&["translate", "jingle-to-sdp"], file));
        assert_sdp_crlf(&sdp);
        let wanted = format!("a=fmtp:{pt} 0-15\r\n");
        assert!(sdp.contains(&wanted), "{file}: no {wanted:?} in\n{sdp}");
        assert!(
            !sdp.contains("=0-15"),
            "{file}: the value got a name:\n{sdp}"
        );
    }
}

#[test]
fn jingle_to_sdp_session_id_is_stable() {
    let file = "jingle/stanza-xep0167-session-initiate-chrome.xml";
    let a = success(&stox_file(&["translate", "jingle-to-sdp"], file));
    let b = success(&stox_file(&["translate", "jingle-to-sdp"], file));
    assert_eq!(a, b, "same input, same SDP");
}
