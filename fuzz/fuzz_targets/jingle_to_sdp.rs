//! Jingle XML → SDP (both roles) → Jingle again: nothing on the way may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stox::jingle::parse_jingle;
use stox::translate::{Role, SdpOrigin, jingle_to_sdp, sdp_to_jingle};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jingle) = parse_jingle(text) else {
        return;
    };
    let origin = SdpOrigin {
        username: "fuzz".to_string(),
        session_id: 1,
        session_version: 2,
        address: "192.0.2.1".to_string(),
    };
    for role in [Role::Initiator, Role::Responder] {
        if let Ok(sdp) = jingle_to_sdp(&jingle, role, &origin) {
            // What we write we must be able to read back.
            for back in [Role::Initiator, Role::Responder] {
                let _ = sdp_to_jingle(&sdp.value, back);
            }
        }
    }
});
