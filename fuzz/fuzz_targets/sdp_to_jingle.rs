//! SDP text → Jingle (both roles) → back to SDP: nothing on the way may panic.
//!
//! Input bytes are decoded lossily so that invalid UTF-8 still reaches the SDP
//! parser (the CLI rejects it earlier, the gateway may not).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stox::jingle::jingle_element;
use stox::translate::{Role, SdpOrigin, jingle_to_sdp, sdp_to_jingle};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let origin = SdpOrigin::default();
    for role in [Role::Initiator, Role::Responder] {
        if let Ok(translated) = sdp_to_jingle(&text, role) {
            // The writer must cope with whatever the translator produced.
            let _ = jingle_element(&translated.value).to_compact_string();
            for back in [Role::Initiator, Role::Responder] {
                let _ = jingle_to_sdp(&translated.value, back, &origin);
            }
        }
    }
});
