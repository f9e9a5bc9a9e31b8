//! Property tests of the proxy-header parsers: no panic on any input, results are slices of the input,
//! and well-formed values read back.

use proptest::prelude::*;
use tracewire_http::request::{parse_forwarded, split_host_port};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_values_never_panic(value in ".{0,200}") {
        let f = parse_forwarded(&value);
        for part in [f.for_node, f.host, f.proto].into_iter().flatten() {
            prop_assert!(value.contains(part));
        }
        if let Some((host, _)) = split_host_port(&value) {
            prop_assert!(value.contains(host));
        }
    }

    #[test]
    fn well_formed_forwarded_reads_back(
        a in 1u8..255, b in 0u8..255, port in 1u16..65535,
        host in "[a-z]{1,10}\\.example",
        proto in prop_oneof![Just("http"), Just("https")],
    ) {
        let value = format!("for=\"10.{a}.{b}.1:{port}\";proto={proto};host={host}, for=192.0.2.1");
        let f = parse_forwarded(&value);
        let node = format!("10.{a}.{b}.1:{port}");
        prop_assert_eq!(f.for_node, Some(node.as_str()));
        prop_assert_eq!(f.proto, Some(proto));
        prop_assert_eq!(f.host, Some(host.as_str()));
        let ip = format!("10.{a}.{b}.1");
        prop_assert_eq!(split_host_port(&node), Some((ip.as_str(), Some(port))));
    }

    #[test]
    fn bracketed_ipv6_reads_back(groups in proptest::collection::vec(0u16..0xffff, 8), port in 1u16..65535) {
        let ip = groups.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
        let value = format!("[{ip}]:{port}");
        prop_assert_eq!(split_host_port(&value), Some((ip.as_str(), Some(port))));
    }
}
