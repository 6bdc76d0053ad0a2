//! Bencode, the encoding of rtpengine's ng control protocol.
//!
//! Our own rather than `serde_bencode` (0.2.4): ng replies are loosely typed
//! dictionaries (`result` is always there; `sdp`, `warning`, `error-reason`
//! and statistics come and go, and some values are integers in one version
//! and strings in another), which a dynamic [`Value`] reads more plainly than
//! serde structs with every field optional. The format is four productions;
//! this module is small, has no dependency, builds in the sans-IO core (and so
//! in `fuzz/`), and its errors say where the input went wrong.
//!
//! Byte strings are bytes, not text: SDP is ASCII in practice, but a decoder
//! must not fail on a stray byte, so the caller decides (see
//! [`Value::as_str`]).

use std::collections::BTreeMap;
use std::fmt;

/// One bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `i42e`.
    Int(i64),
    /// `4:spam`.
    Bytes(Vec<u8>),
    /// `l…e`.
    List(Vec<Value>),
    /// `d…e`, keys in byte order (what the format requires of an encoder;
    /// [`BTreeMap`] gives it for free).
    Dict(BTreeMap<Vec<u8>, Value>),
}

impl Value {
    /// A byte string from text.
    pub fn str(s: &str) -> Self {
        Value::Bytes(s.as_bytes().to_vec())
    }

    /// A list of byte strings from text.
    pub fn str_list(items: &[&str]) -> Self {
        Value::List(items.iter().map(|s| Value::str(s)).collect())
    }

    /// The value as UTF-8 text, if it is a byte string holding UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The value of `key` when this is a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(d) => d.get(key.as_bytes()),
            _ => None,
        }
    }

    /// The encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of this value to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(i) => {
                out.push(b'i');
                out.extend_from_slice(i.to_string().as_bytes());
                out.push(b'e');
            }
            Value::Bytes(b) => encode_bytes(b, out),
            Value::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Value::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    encode_bytes(k, out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// A dictionary built from `(key, value)` pairs, in any order.
pub fn dict<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect(),
    )
}

/// Why some bytes are not one bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset where decoding stopped.
    pub at: usize,
    /// What was wrong there.
    pub what: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bencode: {} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for DecodeError {}

/// Nesting deeper than this is refused rather than recursed into, so that a
/// hostile or broken datagram cannot overflow the stack. ng replies nest
/// three or four levels.
const MAX_DEPTH: usize = 64;

/// Decodes exactly one value that fills `input`.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder { input, pos: 0 };
    let v = d.value(0)?;
    if d.pos != input.len() {
        return Err(d.err("trailing bytes after the value"));
    }
    Ok(v)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError { at: self.pos, what }
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.err("unexpected end of input"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                let n = self.integer(b'e')?;
                Ok(Value::Int(n))
            }
            b'0'..=b'9' => Ok(Value::Bytes(self.bytes()?)),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut d = BTreeMap::new();
                while self.peek()? != b'e' {
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.err("dictionary key is not a byte string"));
                    }
                    // Key order is not checked: a reader should take what a
                    // slightly sloppy encoder sends. A repeated key keeps the
                    // last value.
                    let k = self.bytes()?;
                    let v = self.value(depth + 1)?;
                    d.insert(k, v);
                }
                self.pos += 1;
                Ok(Value::Dict(d))
            }
            _ => Err(self.err("not the start of a value")),
        }
    }

    /// Digits (with an optional leading `-`) up to `end`, which is consumed.
    fn integer(&mut self, end: u8) -> Result<i64, DecodeError> {
        let start = self.pos;
        while self.peek()? != end {
            self.pos += 1;
        }
        let text = &self.input[start..self.pos];
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(DecodeError {
                at: start,
                what: "malformed integer",
            });
        }
        // `i-0e` and leading zeros are forbidden by the format; refusing them
        // costs nothing and keeps decode∘encode the identity.
        if (digits.len() > 1 && digits[0] == b'0') || text == b"-0" {
            return Err(DecodeError {
                at: start,
                what: "integer with a leading zero",
            });
        }
        let n = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or(DecodeError {
                at: start,
                what: "integer out of range",
            })?;
        self.pos += 1;
        Ok(n)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let start = self.pos;
        let len = self.integer(b':')?;
        let len = usize::try_from(len).map_err(|_| DecodeError {
            at: start,
            what: "negative string length",
        })?;
        let end = self.pos.checked_add(len).filter(|&e| e <= self.input.len());
        let Some(end) = end else {
            return Err(self.err("string runs past the end of input"));
        };
        let b = self.input[self.pos..end].to_vec();
        self.pos = end;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
                proptest::collection::btree_map(
                    proptest::collection::vec(any::<u8>(), 0..8),
                    inner,
                    0..6
                )
                .prop_map(Value::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(v in any_value()) {
            prop_assert_eq!(decode(&v.encode()), Ok(v));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn encodes_each_kind() {
        assert_eq!(Value::Int(42).encode(), b"i42e");
        assert_eq!(Value::Int(-7).encode(), b"i-7e");
        assert_eq!(Value::Int(0).encode(), b"i0e");
        assert_eq!(Value::str("spam").encode(), b"4:spam");
        assert_eq!(Value::str("").encode(), b"0:");
        assert_eq!(Value::str_list(&["a", "bc"]).encode(), b"l1:a2:bce");
    }

    #[test]
    fn dictionary_keys_are_sorted_by_bytes() {
        let d = dict([
            ("sdp", Value::str("v=0")),
            ("command", Value::str("offer")),
            ("call-id", Value::str("c1")),
        ]);
        assert_eq!(
            d.encode(),
            b"d7:call-id2:c17:command5:offer3:sdp3:v=0e".to_vec()
        );
    }

    #[test]
    fn decodes_an_ng_reply() {
        let v = decode(b"d6:result2:ok3:sdp3:v=07:warning3:hmm5:countli1ei2eee").unwrap();
        assert_eq!(v.get("result").and_then(Value::as_str), Some("ok"));
        assert_eq!(v.get("sdp").and_then(Value::as_str), Some("v=0"));
        assert_eq!(
            v.get("count"),
            Some(&Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn round_trips_nested_values() {
        let v = dict([
            ("a", Value::List(vec![Value::Int(-3), Value::str("x")])),
            ("b", dict([("c", Value::Bytes(vec![0, 255, b':']))])),
            ("d", Value::List(vec![])),
        ]);
        assert_eq!(decode(&v.encode()).unwrap(), v);
    }

    #[test]
    fn non_utf8_bytes_decode_but_are_not_text() {
        let v = decode(b"2:\xff\xfe").unwrap();
        assert_eq!(v, Value::Bytes(vec![0xff, 0xfe]));
        assert_eq!(v.as_str(), None);
    }

    #[test]
    fn refuses_malformed_input() {
        for (bad, what) in [
            (&b""[..], "unexpected end of input"),
            (b"i12", "unexpected end of input"),
            (b"ie", "malformed integer"),
            (b"i1x2e", "malformed integer"),
            (b"i03e", "integer with a leading zero"),
            (b"i-0e", "integer with a leading zero"),
            (b"i99999999999999999999e", "integer out of range"),
            (b"5:abc", "string runs past the end of input"),
            (b"-1:a", "not the start of a value"),
            (b"l1:a", "unexpected end of input"),
            (b"di1e1:ae", "dictionary key is not a byte string"),
            (b"1:ax", "trailing bytes after the value"),
            (b"x", "not the start of a value"),
        ] {
            let e = decode(bad).unwrap_err();
            assert_eq!(e.what, what, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing() {
        let mut deep = vec![b'l'; 10_000];
        deep.extend(vec![b'e'; 10_000]);
        assert_eq!(decode(&deep).unwrap_err().what, "nested too deeply");
        let mut ok = vec![b'l'; 10];
        ok.extend(vec![b'e'; 10]);
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn a_huge_declared_length_is_an_error_not_an_allocation() {
        let e = decode(b"18446744073709551615:x").unwrap_err();
        assert_eq!(e.what, "integer out of range");
        let e = decode(b"9223372036854775807:x").unwrap_err();
        assert_eq!(e.what, "string runs past the end of input");
    }
}
