//! Property tests of the record-header carrier: any header bytes, never a panic, never a value that is
//! not visible ASCII; a valid traceparent among arbitrary headers reads back.

use opentelemetry::propagation::Extractor;
use proptest::prelude::*;
use rdkafka::message::{Header, OwnedHeaders};
use tracewire_kafka::HeaderExtractor;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_headers_never_panic(headers in proptest::collection::vec(("[a-z]{1,12}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))), 0..12)) {
        let mut owned = OwnedHeaders::new();
        for (key, value) in &headers {
            owned = owned.insert(Header { key, value: value.as_deref() });
        }
        let extractor = HeaderExtractor(&owned);
        for (key, _) in &headers {
            if let Some(values) = extractor.get_all(key) {
                for v in values {
                    prop_assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t'));
                }
            }
        }
        let _ = extractor.keys();
    }

    #[test]
    fn a_traceparent_among_noise_reads_back(noise in proptest::collection::vec(("x-[a-z]{1,8}", proptest::collection::vec(any::<u8>(), 0..32)), 0..6)) {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut owned = OwnedHeaders::new();
        for (key, value) in &noise {
            owned = owned.insert(Header { key, value: Some(value.as_slice()) });
        }
        owned = owned.insert(Header { key: "traceparent", value: Some(tp) });
        let extractor = HeaderExtractor(&owned);
        prop_assert_eq!(extractor.get("traceparent"), Some(tp));
    }
}
