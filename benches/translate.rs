//! Translation speed on a real browser audio+video offer, both directions.
//!
//! Run: `cargo bench --bench translate` (figures in BENCHMARKS.md). Inputs come
//! from the shared interop corpus (`../shared/corpus`, see its INDEX.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use stox::jingle::parse_jingle;
use stox::translate::{Role, SdpOrigin, jingle_to_sdp, sdp_to_jingle};

/// Chrome audio+video offer (stanza's test fixture; corpus pair P3).
const CHROME_OFFER_SDP: &str =
    include_str!("../../shared/corpus/sdp/stanza-audio-video-chrome-offer.sdp");
/// Chrome-derived XEP-0167 session-initiate (corpus pair P15).
const CHROME_SESSION_INITIATE: &str =
    include_str!("../../shared/corpus/jingle/stanza-xep0167-session-initiate-chrome.xml");

fn translate(c: &mut Criterion) {
    let origin = SdpOrigin::default();
    let jingle = sdp_to_jingle(CHROME_OFFER_SDP, Role::Initiator)
        .expect("the Chrome offer translates")
        .value;

    let mut group = c.benchmark_group("translate");
    group.throughput(Throughput::Elements(1));

    group.bench_function("sdp_to_jingle/chrome-audio-video-offer", |b| {
        b.iter(|| sdp_to_jingle(black_box(CHROME_OFFER_SDP), Role::Initiator).unwrap())
    });
    group.bench_function("jingle_to_sdp/chrome-audio-video-offer", |b| {
        b.iter(|| jingle_to_sdp(black_box(&jingle), Role::Initiator, &origin).unwrap())
    });
    group.bench_function(
        "parse_jingle+jingle_to_sdp/xep0167-session-initiate-chrome",
        |b| {
            b.iter(|| {
                let jingle = parse_jingle(black_box(CHROME_SESSION_INITIATE)).unwrap();
                jingle_to_sdp(&jingle, Role::Initiator, &origin).unwrap()
            })
        },
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = translate
}
criterion_main!(benches);
