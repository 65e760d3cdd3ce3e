//! Property tests of world-open detection: CIDR arithmetic in IPv4 and IPv6 against an
//! oracle that looks at which first octets a network covers, and port arithmetic against
//! the allow-list counted port by port.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::{is_offending, is_world_open};
use crate::domain::{IngressRule, Protocol, Source};

/// First octets of IPv4 /8s that hold internet hosts: all below multicast (224) except
/// "this network" (0), 10/8 and loopback (127). A network shorter than /8 spans whole /8s.
fn public_v4_octet(octet: u8) -> bool {
    octet < 224 && ![0, 10, 127].contains(&octet)
}

/// IPv6 global unicast, 2000::/3, by first byte.
fn public_v6_byte(byte: u8) -> bool {
    (0x20..=0x3f).contains(&byte)
}

/// The oracle: a network is world-open when it is shorter than /8 and one of the /8s it
/// spans holds internet hosts.
fn oracle(net: &IpNet) -> bool {
    if net.prefix_len() >= 8 {
        return false;
    }
    match net.trunc() {
        IpNet::V4(n) => (n.network().octets()[0]..=n.broadcast().octets()[0]).any(public_v4_octet),
        IpNet::V6(n) => (n.network().octets()[0]..=n.broadcast().octets()[0]).any(public_v6_byte),
    }
}

/// Networks of prefix 0 to 9, where the answer changes.
fn short_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..10).prop_map(|(addr, prefix)| {
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap())
        }),
        (any::<u128>(), 0u8..10).prop_map(|(addr, prefix)| {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), prefix).unwrap())
        }),
    ]
}

/// Any network, half of them short.
fn any_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(addr, prefix)| {
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap())
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(addr, prefix)| {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), prefix).unwrap())
        }),
        short_net(),
        short_net(),
    ]
}

fn tcp(from: i32, to: i32, net: IpNet) -> IngressRule {
    IngressRule {
        id: None,
        protocol: Protocol::Tcp,
        from_port: Some(from),
        to_port: Some(to),
        source: Source::Cidr(net),
        description: None,
    }
}

fn world() -> IpNet {
    IpNet::V4(Ipv4Net::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn world_open_is_exactly_a_short_prefix_reaching_public_space(net in any_net()) {
        prop_assert_eq!(is_world_open(&Source::Cidr(net)), oracle(&net), "{}", net);
    }

    #[test]
    fn host_bits_never_change_the_answer(net in any_net()) {
        prop_assert_eq!(
            is_world_open(&Source::Cidr(net)),
            is_world_open(&Source::Cidr(net.trunc()))
        );
    }

    #[test]
    fn every_supernet_of_a_world_open_network_is_world_open(net in short_net(), shorter in 0u8..8) {
        let wider = match net {
            IpNet::V4(n) => Ipv4Net::new(n.addr(), shorter.min(n.prefix_len())).map(IpNet::V4),
            IpNet::V6(n) => Ipv6Net::new(n.addr(), shorter.min(n.prefix_len())).map(IpNet::V6),
        };
        prop_assert!(wider.is_ok());
        if is_world_open(&Source::Cidr(net)) {
            prop_assert!(wider.is_ok_and(|w| is_world_open(&Source::Cidr(w))));
        }
    }

    #[test]
    fn a_port_range_offends_when_one_of_its_ports_is_not_allowed(
        from in any::<u16>(),
        width in 0u16..300,
        allow_all_of_it in any::<bool>(),
        allowed in prop::collection::btree_set(any::<u16>(), 0..16),
        allowed_nearby in prop::collection::btree_set(0u16..300, 0..300),
    ) {
        let to = from.saturating_add(width);
        let mut allowed: BTreeSet<u16> = allowed;
        if allow_all_of_it {
            allowed.extend(from..=to);
        } else {
            allowed.extend(allowed_nearby.iter().filter_map(|d| from.checked_add(*d)));
        }
        let in_range_allowed = allowed.range(from..=to).count();
        let range_len = usize::from(to - from) + 1;
        let rule = tcp(i32::from(from), i32::from(to), world());
        prop_assert_eq!(is_offending(&rule, &allowed), in_range_allowed < range_len);
        // The same ports from a source that is not world-open never offend.
        let private = tcp(i32::from(from), i32::from(to), "10.0.0.0/8".parse().unwrap());
        prop_assert!(!is_offending(&private, &allowed));
    }

    #[test]
    fn widening_a_range_never_makes_an_offending_rule_acceptable(
        ends in (any::<u16>(), any::<u16>()),
        wider_from in any::<u16>(),
        wider_to in any::<u16>(),
        allowed in prop::collection::btree_set(any::<u16>(), 0..32),
    ) {
        let (from, to) = (ends.0.min(ends.1), ends.0.max(ends.1));
        let (wf, wt) = (wider_from.min(from), wider_to.max(to));
        let narrow = tcp(i32::from(from), i32::from(to), world());
        let wide = tcp(i32::from(wf), i32::from(wt), world());
        if is_offending(&narrow, &allowed) {
            prop_assert!(is_offending(&wide, &allowed));
        }
    }

    #[test]
    fn unreadable_ports_mean_every_port(
        from in -70_000i32..70_000,
        to in -70_000i32..70_000,
        allowed in prop::collection::btree_set(any::<u16>(), 0..32),
    ) {
        let valid = |p: i32| u16::try_from(p).is_ok();
        prop_assume!(!(valid(from) && valid(to) && from <= to));
        // Negative, out-of-range or reversed: EC2 reads "-1" as all ports, so must we.
        prop_assert!(is_offending(&tcp(from, to, world()), &allowed));
    }

    #[test]
    fn protocols_are_judged_by_their_ports(
        protocol in prop::sample::select(vec!["-1", "icmp", "icmpv6", "50", "udp", "tcp"]),
        net in any_net(),
        allowed in prop::collection::btree_set(any::<u16>(), 0..32),
    ) {
        let rule = IngressRule {
            protocol: Protocol::parse(protocol),
            from_port: None,
            to_port: None,
            ..tcp(0, 0, net)
        };
        let expected = match protocol {
            // No ports: path-MTU discovery needs ICMP, and it is left alone.
            "icmp" | "icmpv6" => false,
            // Every port, which no allow-list of fewer than 65536 ports covers.
            _ => is_world_open(&Source::Cidr(net)),
        };
        prop_assert_eq!(is_offending(&rule, &allowed), expected);
    }
}
