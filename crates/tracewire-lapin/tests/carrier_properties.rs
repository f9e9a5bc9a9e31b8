//! Property tests of the AMQP header carrier: values of every AMQP type under any key, never a panic,
//! never a value that is not visible ASCII.

use lapin::types::{AMQPValue, FieldTable, LongString};
use opentelemetry::propagation::Extractor;
use proptest::prelude::*;
use tracewire_lapin::HeaderExtractor;

fn value() -> impl Strategy<Value = AMQPValue> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| AMQPValue::LongString(LongString::from(b))),
        "[ -~]{0,40}".prop_map(|s| AMQPValue::ShortString(s.into())),
        any::<i32>().prop_map(AMQPValue::LongInt),
        any::<bool>().prop_map(AMQPValue::Boolean),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(|b| AMQPValue::ByteArray(b.into())),
        Just(AMQPValue::FieldTable(FieldTable::default())),
        Just(AMQPValue::Void),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_header_table_is_safe(entries in proptest::collection::vec((prop_oneof![Just("traceparent".to_owned()), Just("tracestate".to_owned()), Just("baggage".to_owned()), "[a-z-]{1,10}"], value()), 0..10)) {
        let mut table = FieldTable::default();
        for (key, value) in &entries {
            table.insert(key.as_str().into(), value.clone());
        }
        let extractor = HeaderExtractor(&table);
        for key in extractor.keys() {
            if let Some(v) = extractor.get(key) {
                prop_assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t'));
            }
        }
    }
}
