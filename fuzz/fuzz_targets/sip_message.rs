//! Bytes → SIP message → typed views → bytes → SIP message: nothing may panic,
//! and whatever parsed once must parse again after writing (the gateway
//! forwards what it parsed).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stox::sip::message::MAX_HEADER_BYTES;
use stox::sip::{CSeq, NameAddr, SipMessage, SipUri, Via, frame_len, parse_message, response_for};

fuzz_target!(|data: &[u8]| {
    // Stream framing must agree with the datagram parser on complete frames.
    if let Ok(Some(n)) = frame_len(data) {
        assert!(n <= data.len());
        let _ = parse_message(&data[..n]);
    }
    let Ok(message) = parse_message(data) else {
        return;
    };
    let _ = message.validate();
    let headers = message.headers();
    for via in headers.values("Via") {
        if let Ok(v) = Via::parse(&via) {
            Via::parse(&v.to_string()).expect("a written Via parses");
        }
    }
    for name in ["From", "To", "Contact", "Route", "Record-Route"] {
        for value in headers.values(name) {
            if let Ok(addr) = NameAddr::parse(&value) {
                NameAddr::parse(&addr.to_string()).expect("a written name-addr parses");
                if let Ok(uri) = SipUri::parse(&addr.uri) {
                    SipUri::parse(&uri.to_string()).expect("a written URI parses");
                }
            }
        }
    }
    if let Some(cseq) = headers.get("CSeq").and_then(|v| CSeq::parse(v).ok()) {
        assert_eq!(CSeq::parse(&cseq.to_string()).ok(), Some(cseq));
    }
    let bytes = message.to_bytes();
    let again = parse_message(&bytes).expect("written message parses");
    assert_eq!(again.body(), message.body());
    if bytes.len() - message.body().len() < MAX_HEADER_BYTES {
        assert_eq!(
            frame_len(&bytes).expect("written message frames"),
            Some(bytes.len())
        );
    }
    if let SipMessage::Request(request) = &message {
        let _ = SipUri::parse(&request.uri);
        let _ = response_for(request, 400, "Bad Request").to_bytes();
    }
});
