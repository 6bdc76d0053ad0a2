//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617,
//! RFC 7616, RFC 8760): parsing `WWW-Authenticate` / `Proxy-Authenticate`
//! challenges, answering them with an `Authorization` /
//! `Proxy-Authorization` value, and checking an inbound `Authorization`.
//!
//! The module is pure — no I/O, no clock, no randomness of its own — so the
//! trunk code decides when to retry and supplies the cnonce, and every path
//! can be tested against the RFC vectors. Every parser returns a
//! [`DigestError`] rather than panicking, whatever the input.
//!
//! Algorithms are the RFC 8760 tokens `MD5`, `SHA-256`, `SHA-512-256` and
//! their `-sess` forms; SHA-512-256 is the FIPS 180-4 SHA-512/256 function
//! ([`sha2::Sha512_256`], its own initial values), not a truncated SHA-512 —
//! the mistake `../shared/spec/crates.md` records in rsip/rsipstack.

use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A digest algorithm we can compute, named by its RFC 8760 / RFC 7616 token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`: the RFC 2617 default, still what most trunks offer.
    Md5,
    /// `MD5-sess`: MD5 with the nonce and cnonce folded into HA1.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256`: SHA-512/256 per FIPS 180-4 (RFC 7616, RFC 8760).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Reads an algorithm token case-insensitively; `None` for a token we do
    /// not implement (such as rsip's non-standard `SHA256`), so the caller can
    /// skip that challenge instead of failing the whole response.
    pub fn from_token(token: &str) -> Option<Algorithm> {
        const ALL: [Algorithm; 6] = [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha512_256Sess,
        ];
        let token = token.trim();
        ALL.into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// The canonical token, as written in the `algorithm=` parameter we send.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Whether this is a `-sess` variant, whose HA1 also covers the nonce and
    /// cnonce (RFC 7616 §3.4.2) and which therefore needs a cnonce.
    pub fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// Preference rank for [`pick_strongest`]: SHA-512-256 > SHA-256 > MD5.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        }
    }

    /// Lower-case hex of the hash of `parts` joined by `:`, the `H(a:b:…)` of
    /// the RFCs.
    fn hash_joined(self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hash_parts::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hash_parts::<Sha256>(parts),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => hash_parts::<Sha512_256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

fn hash_parts<D: Digest>(parts: &[&[u8]]) -> String {
    let mut d = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(p);
    }
    to_hex(&d.finalize())
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The quality of protection a request digest was computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: method and URI are covered.
    Auth,
    /// `auth-int`: the body is covered too, through `H(entity-body)`.
    AuthInt,
}

impl Qop {
    /// The wire token.
    pub fn token(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// Why a challenge could not be parsed or answered, or an `Authorization`
/// was refused. Each variant maps to a distinct action for the caller (give
/// up, retry with a new nonce, answer 401/403), hence a typed enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// The header value does not follow the auth-param syntax.
    Malformed(&'static str),
    /// The header holds no `Digest` challenge/credentials (e.g. only `Basic`).
    NotDigest,
    /// A parameter the RFCs require is absent.
    MissingParam(&'static str),
    /// The algorithm is not one we implement.
    UnsupportedAlgorithm(String),
    /// The offered or used qop is not one we implement.
    UnsupportedQop(String),
    /// A value is unusable: CR/LF/NUL that would break the header, `nc` of 0,
    /// an empty cnonce where one is required, a non-hex `nc`.
    InvalidValue(&'static str),
    /// A `-sess` algorithm was offered without qop, which leaves no place for
    /// the cnonce its HA1 needs.
    SessWithoutQop,
    /// The credentials name a realm other than ours.
    WrongRealm,
    /// `password_for` knows no such user in that realm.
    UnknownUser,
    /// The response digest does not match: wrong password, or tampering.
    BadResponse,
    /// The digest is right but the nonce is no longer valid: re-challenge
    /// with `stale=true` so the client retries without asking its user.
    StaleNonce,
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Malformed(why) => write!(f, "malformed digest header: {why}"),
            DigestError::NotDigest => f.write_str("no Digest challenge or credentials"),
            DigestError::MissingParam(p) => write!(f, "digest parameter `{p}` missing"),
            DigestError::UnsupportedAlgorithm(a) => {
                write!(f, "unsupported digest algorithm `{a}`")
            }
            DigestError::UnsupportedQop(q) => write!(f, "unsupported digest qop `{q}`"),
            DigestError::InvalidValue(why) => write!(f, "invalid digest value: {why}"),
            DigestError::SessWithoutQop => f.write_str("-sess digest algorithm without qop"),
            DigestError::WrongRealm => f.write_str("digest realm is not ours"),
            DigestError::UnknownUser => f.write_str("unknown digest user"),
            DigestError::BadResponse => f.write_str("digest response does not match"),
            DigestError::StaleNonce => f.write_str("digest nonce is stale"),
        }
    }
}

impl std::error::Error for DigestError {}

/// One Digest challenge from a `WWW-Authenticate` (401) or
/// `Proxy-Authenticate` (407) header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space; echoed back and part of HA1.
    pub realm: String,
    /// The server nonce; echoed back and part of the response.
    pub nonce: String,
    /// Opaque server state, echoed back unchanged when present.
    pub opaque: Option<String>,
    /// The algorithm, `MD5` when the parameter is absent; `None` when the
    /// server named one we do not implement (see `algorithm_token`).
    pub algorithm: Option<Algorithm>,
    /// The `algorithm` parameter as written, for logs; `None` when absent.
    pub algorithm_token: Option<String>,
    /// The offered qop values, lower-cased; `None` when the server sent no
    /// `qop` (RFC 2069 compatibility: no cnonce, no nc).
    pub qop: Option<Vec<String>>,
    /// `stale=true`: the previous answer failed only because its nonce
    /// expired, so retry with this nonce without asking for new credentials.
    pub stale: bool,
    /// The `domain` parameter as written, if any.
    pub domain: Option<String>,
}

impl Challenge {
    /// Parses the first Digest challenge in a header value (non-Digest
    /// challenges before it are skipped).
    pub fn parse(value: &str) -> Result<Challenge, DigestError> {
        parse_challenges(value)?
            .into_iter()
            .next()
            .ok_or(DigestError::NotDigest)
    }

    /// Whether this challenge can be answered: a known algorithm, and (if qop
    /// was offered) `auth` or `auth-int` among the offers.
    pub fn is_supported(&self) -> bool {
        self.algorithm.is_some() && choose_qop(self).is_ok()
    }

    fn from_raw(raw: RawChallenge) -> Result<Challenge, DigestError> {
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm_token = None;
        let mut qop = None;
        let mut stale = false;
        let mut domain = None;
        // The first occurrence of a repeated parameter wins.
        for (name, value) in raw.params {
            match name.as_str() {
                "realm" => set_once(&mut realm, value),
                "nonce" => set_once(&mut nonce, value),
                "opaque" => set_once(&mut opaque, value),
                "algorithm" => set_once(&mut algorithm_token, value),
                "domain" => set_once(&mut domain, value),
                "qop" => set_once(
                    &mut qop,
                    value
                        .split(',')
                        .map(|q| q.trim().to_ascii_lowercase())
                        .filter(|q| !q.is_empty())
                        .collect(),
                ),
                "stale" => stale = value.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        let algorithm = match &algorithm_token {
            None => Some(Algorithm::Md5),
            Some(t) => Algorithm::from_token(t),
        };
        Ok(Challenge {
            realm: realm.ok_or(DigestError::MissingParam("realm"))?,
            nonce: nonce.ok_or(DigestError::MissingParam("nonce"))?,
            opaque,
            algorithm,
            algorithm_token,
            qop,
            stale,
            domain,
        })
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// Parses every Digest challenge in one header value. RFC 7235 allows
/// several challenges in one value (`Basic realm="x", Digest realm="y", …`);
/// SIP servers send one per header line, but we accept both. Non-Digest
/// challenges are skipped; a Digest challenge lacking realm or nonce is an
/// error.
pub fn parse_challenges(value: &str) -> Result<Vec<Challenge>, DigestError> {
    let mut out = Vec::new();
    for raw in parse_auth_list(value)? {
        if raw.scheme.eq_ignore_ascii_case("digest") {
            out.push(Challenge::from_raw(raw)?);
        }
    }
    if out.is_empty() {
        return Err(DigestError::NotDigest);
    }
    Ok(out)
}

/// Collects the Digest challenges from all `WWW-Authenticate` (or all
/// `Proxy-Authenticate`) header values of one response, leniently: a value
/// that does not parse is skipped so one broken line does not hide a good one.
pub fn challenges_from<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    values
        .into_iter()
        .filter_map(|v| parse_challenges(v).ok())
        .flatten()
        .collect()
}

/// The challenge to answer among several: the strongest supported algorithm
/// (SHA-512-256 > SHA-256 > MD5; `-sess` ranks with its hash), the server's
/// order breaking ties. Unsupported challenges are skipped; `None` if none is
/// answerable.
pub fn pick_strongest(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<(&Challenge, u8)> = None;
    for c in challenges.iter().filter(|c| c.is_supported()) {
        let rank = c.algorithm.map_or(0, Algorithm::strength);
        if best.is_none_or(|(_, r)| rank > r) {
            best = Some((c, rank));
        }
    }
    best.map(|(c, _)| c)
}

/// A username and password for a trunk. Debug hides the password so the
/// struct can sit in logged configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest username (the `username` parameter, part of HA1).
    pub username: String,
    /// The shared secret; never sent, only hashed.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The answer to a challenge: the `Authorization` / `Proxy-Authorization`
/// header value plus the pieces the caller may want to log or reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The full header value, `Digest username="…", …`.
    pub value: String,
    /// The request digest (lower-case hex), the `response` parameter.
    pub response: String,
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// The qop used; `None` in RFC 2069 mode.
    pub qop: Option<Qop>,
    /// The nonce count sent; `None` in RFC 2069 mode.
    pub nc: Option<u32>,
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

/// Chooses the qop to answer with: none if none was offered (RFC 2069 form),
/// `auth` when offered, `auth-int` only when `auth` is not.
fn choose_qop(ch: &Challenge) -> Result<Option<Qop>, DigestError> {
    let Some(offers) = &ch.qop else {
        return Ok(None);
    };
    if offers.iter().any(|q| q == "auth") {
        Ok(Some(Qop::Auth))
    } else if offers.iter().any(|q| q == "auth-int") {
        Ok(Some(Qop::AuthInt))
    } else {
        Err(DigestError::UnsupportedQop(offers.join(",")))
    }
}

/// Inputs of one request digest, shared by [`authorize`] and [`verify`] so
/// both sides compute it the same way.
struct DigestInput<'a> {
    algorithm: Algorithm,
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a str,
    method: &'a str,
    uri: &'a str,
    qop: Option<Qop>,
    nc_hex: &'a str,
    cnonce: &'a str,
    body: &'a [u8],
}

impl DigestInput<'_> {
    /// The request digest per RFC 7616 §3.4.1–§3.4.3 (RFC 2617 §3.2.2.1
    /// when qop is absent).
    fn response(&self) -> String {
        let alg = self.algorithm;
        let mut ha1 = alg.hash_joined(&[
            self.username.as_bytes(),
            self.realm.as_bytes(),
            self.password.as_bytes(),
        ]);
        if alg.is_sess() {
            ha1 = alg.hash_joined(&[
                ha1.as_bytes(),
                self.nonce.as_bytes(),
                self.cnonce.as_bytes(),
            ]);
        }
        let ha2 = match self.qop {
            Some(Qop::AuthInt) => {
                // RFC 3261 §22.4: an empty body hashes as H("").
                let body_hash = alg.hash_joined(&[self.body]);
                alg.hash_joined(&[
                    self.method.as_bytes(),
                    self.uri.as_bytes(),
                    body_hash.as_bytes(),
                ])
            }
            _ => alg.hash_joined(&[self.method.as_bytes(), self.uri.as_bytes()]),
        };
        match self.qop {
            Some(q) => alg.hash_joined(&[
                ha1.as_bytes(),
                self.nonce.as_bytes(),
                self.nc_hex.as_bytes(),
                self.cnonce.as_bytes(),
                q.token().as_bytes(),
                ha2.as_bytes(),
            ]),
            None => alg.hash_joined(&[ha1.as_bytes(), self.nonce.as_bytes(), ha2.as_bytes()]),
        }
    }
}

/// Rejects characters that would end the header line or the string early
/// on the wire; quotes and backslashes are escaped instead.
fn check_header_safe(value: &str, what: &'static str) -> Result<(), DigestError> {
    if value.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(DigestError::InvalidValue(what));
    }
    Ok(())
}

fn push_quoted(out: &mut String, name: &str, value: &str) {
    if out != "Digest " {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

fn push_token(out: &mut String, name: &str, value: &str) {
    out.push_str(", ");
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

/// Answers a challenge for one request: `method` and `uri` are the request's
/// method and Request-URI, `body` its body (hashed only for `auth-int`),
/// `cnonce` client randomness supplied by the caller, `nc` from a
/// [`NonceCounter`]. qop, cnonce and nc are sent only when the challenge
/// offered qop.
pub fn authorize(
    ch: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    body: &[u8],
    cnonce: &str,
    nc: u32,
) -> Result<Authorization, DigestError> {
    let algorithm = ch.algorithm.ok_or_else(|| {
        DigestError::UnsupportedAlgorithm(ch.algorithm_token.clone().unwrap_or_default())
    })?;
    let qop = choose_qop(ch)?;
    if algorithm.is_sess() && qop.is_none() {
        return Err(DigestError::SessWithoutQop);
    }
    check_header_safe(&creds.username, "username")?;
    check_header_safe(&ch.realm, "realm")?;
    check_header_safe(&ch.nonce, "nonce")?;
    check_header_safe(uri, "uri")?;
    check_header_safe(cnonce, "cnonce")?;
    if let Some(o) = &ch.opaque {
        check_header_safe(o, "opaque")?;
    }
    if qop.is_some() {
        if cnonce.is_empty() {
            return Err(DigestError::InvalidValue("empty cnonce"));
        }
        if nc == 0 {
            return Err(DigestError::InvalidValue("nc must start at 1"));
        }
    }
    let nc_hex = format!("{nc:08x}");
    let response = DigestInput {
        algorithm,
        username: &creds.username,
        realm: &ch.realm,
        password: &creds.password,
        nonce: &ch.nonce,
        method,
        uri,
        qop,
        nc_hex: &nc_hex,
        cnonce,
        body,
    }
    .response();

    let mut value = String::from("Digest ");
    push_quoted(&mut value, "username", &creds.username);
    push_quoted(&mut value, "realm", &ch.realm);
    push_quoted(&mut value, "nonce", &ch.nonce);
    push_quoted(&mut value, "uri", uri);
    push_quoted(&mut value, "response", &response);
    push_token(&mut value, "algorithm", algorithm.token());
    if let Some(q) = qop {
        push_quoted(&mut value, "cnonce", cnonce);
        push_token(&mut value, "qop", q.token());
        push_token(&mut value, "nc", &nc_hex);
    }
    if let Some(o) = &ch.opaque {
        push_quoted(&mut value, "opaque", o);
    }
    Ok(Authorization {
        value,
        response,
        algorithm,
        qop,
        nc: qop.map(|_| nc),
    })
}

/// Nonce counts for the client side: the `nc` of a request is one more than
/// the last request sent with the same nonce (RFC 7616 §3.4), so a server can
/// spot replays. Plain data kept by the trunk; one entry per realm (a new
/// nonce for a realm restarts its count at 1), at most [`NonceCounter::MAX_REALMS`]
/// realms, so it stays small however long the trunk lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonceCounter {
    /// (realm, nonce, last nc sent), most recently used last.
    entries: Vec<(String, String, u32)>,
}

impl NonceCounter {
    /// How many realms are remembered before the least recently used is
    /// forgotten; a trunk sees one or two.
    pub const MAX_REALMS: usize = 16;

    /// An empty counter.
    pub fn new() -> NonceCounter {
        NonceCounter::default()
    }

    /// The `nc` to send with the next request using `nonce` in `realm`:
    /// 1 for a nonce not seen before, then 2, 3, …
    pub fn next(&mut self, realm: &str, nonce: &str) -> u32 {
        let pos = self.entries.iter().position(|(r, _, _)| r == realm);
        let mut entry = match pos {
            Some(i) => self.entries.remove(i),
            None => (realm.to_owned(), String::new(), 0),
        };
        if entry.1 == nonce && entry.2 > 0 {
            entry.2 = entry.2.saturating_add(1);
        } else {
            entry.1 = nonce.to_owned();
            entry.2 = 1;
        }
        let nc = entry.2;
        self.entries.push(entry);
        if self.entries.len() > Self::MAX_REALMS {
            self.entries.remove(0);
        }
        nc
    }
}

/// Builds a `WWW-Authenticate` / `Proxy-Authenticate` value for challenging
/// an inbound request, offering qop `auth` (the only qop [`verify`] checks).
/// The caller mints `nonce` (randomness stays outside this module) and sets
/// `stale` after [`DigestError::StaleNonce`].
pub fn challenge_value(
    realm: &str,
    nonce: &str,
    algorithm: Algorithm,
    opaque: Option<&str>,
    stale: bool,
) -> Result<String, DigestError> {
    check_header_safe(realm, "realm")?;
    check_header_safe(nonce, "nonce")?;
    let mut value = String::from("Digest ");
    push_quoted(&mut value, "realm", realm);
    push_quoted(&mut value, "nonce", nonce);
    if let Some(o) = opaque {
        check_header_safe(o, "opaque")?;
        push_quoted(&mut value, "opaque", o);
    }
    push_token(&mut value, "algorithm", algorithm.token());
    push_quoted(&mut value, "qop", "auth");
    if stale {
        push_token(&mut value, "stale", "true");
    }
    Ok(value)
}

/// The value of parameter `name` (lower-case) of the Digest credentials in
/// an `Authorization` value, unquoted; for the checks [`verify`] leaves to
/// its caller (the `uri`, which algorithm and qop were used, `nc` replay).
pub fn credential_param(authorization: &str, name: &str) -> Option<String> {
    parse_auth_list(authorization)
        .ok()?
        .into_iter()
        .find(|r| r.scheme.eq_ignore_ascii_case("digest"))?
        .params
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Checks an inbound `Authorization` / `Proxy-Authorization` value for a
/// request with `method`, returning the authenticated username.
///
/// `password_for(user, realm)` looks the secret up; `nonce_is_valid(nonce)`
/// says whether we issued the nonce and it is still fresh (replay and nc
/// tracking live there too). The nonce is judged only after the digest
/// matches, so [`DigestError::StaleNonce`] means "right password, old nonce"
/// and the caller may re-challenge with `stale=true` (RFC 7616 §3.3).
/// `auth-int` is refused ([`DigestError::UnsupportedQop`]) because the body
/// is not passed in; [`challenge_value`] never offers it. Checking that `uri`
/// matches the Request-URI is left to the caller.
pub fn verify(
    authorization: &str,
    method: &str,
    password_for: impl Fn(&str, &str) -> Option<String>,
    expected_realm: &str,
    nonce_is_valid: impl Fn(&str) -> bool,
) -> Result<String, DigestError> {
    let raw = parse_auth_list(authorization)?
        .into_iter()
        .find(|r| r.scheme.eq_ignore_ascii_case("digest"))
        .ok_or(DigestError::NotDigest)?;
    let p = |name: &str| {
        raw.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let username = p("username").ok_or(DigestError::MissingParam("username"))?;
    let realm = p("realm").ok_or(DigestError::MissingParam("realm"))?;
    let nonce = p("nonce").ok_or(DigestError::MissingParam("nonce"))?;
    let uri = p("uri").ok_or(DigestError::MissingParam("uri"))?;
    let response = p("response").ok_or(DigestError::MissingParam("response"))?;
    let algorithm = match p("algorithm") {
        None => Algorithm::Md5,
        Some(t) => {
            Algorithm::from_token(t).ok_or_else(|| DigestError::UnsupportedAlgorithm(t.into()))?
        }
    };
    let qop = match p("qop").map(str::trim) {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
        Some(q) => return Err(DigestError::UnsupportedQop(q.into())),
    };
    let (cnonce, nc_hex) = match qop {
        Some(_) => {
            let cnonce = p("cnonce").ok_or(DigestError::MissingParam("cnonce"))?;
            let nc = p("nc").ok_or(DigestError::MissingParam("nc"))?.trim();
            if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DigestError::InvalidValue("nc is not 8 hex digits"));
            }
            (cnonce, nc)
        }
        None if algorithm.is_sess() => return Err(DigestError::SessWithoutQop),
        None => ("", ""),
    };
    if realm != expected_realm {
        return Err(DigestError::WrongRealm);
    }
    let password = password_for(username, realm).ok_or(DigestError::UnknownUser)?;
    let expected = DigestInput {
        algorithm,
        username,
        realm,
        password: &password,
        nonce,
        method,
        uri,
        qop,
        nc_hex,
        cnonce,
        body: &[],
    }
    .response();
    if !ct_eq_ignore_case(expected.as_bytes(), response.trim().as_bytes()) {
        return Err(DigestError::BadResponse);
    }
    if !nonce_is_valid(nonce) {
        return Err(DigestError::StaleNonce);
    }
    Ok(username.to_owned())
}

/// Compares hex digests without an early exit, so timing does not reveal
/// how many leading characters of a guess were right.
fn ct_eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
    }) == 0
}

/// One challenge or credentials in auth-param syntax: a scheme and its
/// parameters (names lower-cased, values unquoted), in order.
#[derive(Debug)]
struct RawChallenge {
    scheme: String,
    params: Vec<(String, String)>,
}

fn is_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b'=' | b'"')
}

/// Splits a header value into schemes and their `name=value` parameters
/// (RFC 7235 §2.1). A bare token starts a new scheme; a `name=` adds to the
/// current one. Lenient where real servers are sloppy: missing commas
/// between parameters, unquoted values, empty list elements. All delimiters
/// are ASCII, so every slice lands on a char boundary.
fn parse_auth_list(s: &str) -> Result<Vec<RawChallenge>, DigestError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out: Vec<RawChallenge> = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && !is_delim(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(DigestError::Malformed(if b[i] == b'"' {
                "quoted string where a name was expected"
            } else {
                "parameter without a name"
            }));
        }
        let token = &s[start..i];
        let mut j = i;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b'=' {
            i = j + 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < b.len() && b[i] == b'"' {
                let (v, end) = read_quoted(b, i + 1)?;
                i = end;
                v
            } else {
                let vstart = i;
                while i < b.len() && b[i] != b',' {
                    i += 1;
                }
                s[vstart..i].trim().to_owned()
            };
            let current = out
                .last_mut()
                .ok_or(DigestError::Malformed("parameter before the scheme"))?;
            current.params.push((token.to_ascii_lowercase(), value));
        } else {
            out.push(RawChallenge {
                scheme: token.to_owned(),
                params: Vec::new(),
            });
        }
    }
    if out.is_empty() {
        return Err(DigestError::Malformed("empty header value"));
    }
    Ok(out)
}

/// Reads a quoted-string body starting just after the opening quote;
/// returns the unescaped value and the index after the closing quote.
fn read_quoted(b: &[u8], mut i: usize) -> Result<(String, usize), DigestError> {
    let mut v = Vec::new();
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((String::from_utf8_lossy(&v).into_owned(), i + 1)),
            b'\\' => {
                i += 1;
                if i >= b.len() {
                    break;
                }
                v.push(b[i]);
            }
            c => v.push(c),
        }
        i += 1;
    }
    Err(DigestError::Malformed("unterminated quoted string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_list_splits_schemes_and_params() {
        let l = parse_auth_list(r#"Basic realm="a, b", Digest realm=x ,nonce="n\"q",,"#).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].scheme, "Basic");
        assert_eq!(l[0].params, vec![("realm".into(), "a, b".into())]);
        assert_eq!(l[1].scheme, "Digest");
        assert_eq!(
            l[1].params,
            vec![
                ("realm".into(), "x".into()),
                ("nonce".into(), "n\"q".into())
            ]
        );
    }

    #[test]
    fn auth_list_errors() {
        assert!(parse_auth_list("").is_err());
        assert!(parse_auth_list("   ,, ").is_err());
        assert!(parse_auth_list("realm=x").is_err());
        assert!(parse_auth_list("Digest realm=\"x").is_err());
        assert!(parse_auth_list("Digest realm=\"x\\").is_err());
        assert!(parse_auth_list("Digest \"x\"").is_err());
        assert!(parse_auth_list("Digest =x").is_err());
    }

    #[test]
    fn hex_and_hash() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        // FIPS 180-4 / NIST example: SHA-512/256("abc").
        assert_eq!(
            Algorithm::Sha512_256.hash_joined(&[b"abc"]),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        assert_eq!(
            Algorithm::Md5.hash_joined(&[b"a", b"b"]),
            Algorithm::Md5.hash_joined(&[b"a:b"])
        );
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq_ignore_case(b"abCD", b"ABcd"));
        assert!(!ct_eq_ignore_case(b"abcd", b"abce"));
        assert!(!ct_eq_ignore_case(b"abc", b"abcd"));
    }

    #[test]
    fn nonce_counter_counts_per_nonce_and_stays_small() {
        let mut c = NonceCounter::new();
        assert_eq!(c.next("r", "n1"), 1);
        assert_eq!(c.next("r", "n1"), 2);
        assert_eq!(c.next("other", "n1"), 1);
        assert_eq!(c.next("r", "n2"), 1);
        assert_eq!(c.next("r", "n2"), 2);
        for i in 0..100 {
            c.next(&format!("realm{i}"), "n");
        }
        assert_eq!(c.entries.len(), NonceCounter::MAX_REALMS);
    }
}
