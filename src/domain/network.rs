//! Client addresses: the `trusted_proxies` list, who the client is when a
//! request came through one of them (the right-most untrusted address of
//! `X-Forwarded-For`), and the client as limits count it. IPv4-mapped IPv6
//! addresses (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4
//! peers) are IPv4 everywhere.

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv6Net};

/// A `trusted_proxies` entry: a CIDR, or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if let Ok(net) = raw.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        let ip: IpAddr = raw.parse().map_err(|_| "expected a CIDR such as 10.0.0.0/8 or an IP address")?;
        Ok(Self(IpNet::from(ip)))
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

/// A client as per-IP limits count it: an IPv4 address, or the /64 of an
/// IPv6 address, since one host or household is usually given a whole /64
/// and may use any address in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientNet(IpNet);

impl ClientNet {
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpNet::from(IpAddr::V4(v4))),
            IpAddr::V6(v6) => Self(IpNet::V6(Ipv6Net::new_assert(v6, 64).trunc())),
        }
    }
}

impl fmt::Display for ClientNet {
    /// `203.0.113.7` or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(net) => write!(f, "{}", net.addr()),
            IpNet::V6(net) => write!(f, "{net}"),
        }
    }
}

/// The proxies whose `X-Forwarded-*` headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(cidrs: Vec<Cidr>) -> Self {
        Self(cidrs)
    }

    pub fn trusts(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client behind `peer`: the peer itself unless it is a trusted
    /// proxy; then, walking `X-Forwarded-For` from the nearest hop outwards,
    /// the first address that is not a trusted proxy.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(&peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) else { break };
            client = ip;
            if !self.trusts(&ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let client = TrustedProxies::default().client(ip("203.0.113.9"), ["1.2.3.4"].into_iter());
        assert_eq!(client, ip("203.0.113.9"));
    }

    #[test]
    fn mapped_ipv4_addresses_are_ipv4_for_the_proxy_check_and_the_client() {
        let trusted = TrustedProxies::new(vec![Cidr::parse("10.0.0.0/8").unwrap()]);
        let client = trusted.client(ip("::ffff:10.0.0.2"), ["::ffff:198.51.100.7"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
        let untrusted = TrustedProxies::default().client(ip("::ffff:203.0.113.9"), [].into_iter());
        assert_eq!(untrusted, ip("203.0.113.9"));
    }

    #[test]
    fn a_client_net_is_an_ipv4_address_or_an_ipv6_64() {
        assert_eq!(ClientNet::of(ip("203.0.113.7")).to_string(), "203.0.113.7");
        assert_eq!(ClientNet::of(ip("::ffff:203.0.113.7")).to_string(), "203.0.113.7");
        assert_eq!(ClientNet::of(ip("2001:db8:1:2:3:4:5:6")).to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client() {
        let trusted = TrustedProxies::new(vec![Cidr::parse("10.0.0.0/8").unwrap()]);
        let client = trusted.client(ip("10.0.0.2"), ["6.6.6.6, 198.51.100.7, 10.0.0.3"].into_iter());
        assert_eq!(client, ip("198.51.100.7"));
    }

    mod properties {
        use std::net::Ipv4Addr;

        use proptest::prelude::*;

        use super::*;

        /// Addresses from a small space, so that trusted ones come up often.
        fn address() -> impl Strategy<Value = IpAddr> {
            (0u8..4, 0u8..4).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(10, 0, a, b)))
        }

        proptest! {
            #[test]
            fn any_header_is_read_without_panicking(header in any::<String>(), peer in address()) {
                let trusted = TrustedProxies::new(vec![Cidr::parse("10.0.0.0/24").unwrap()]);
                let _ = trusted.client(peer, [header.as_str()].into_iter());
            }

            #[test]
            fn the_client_is_the_peer_or_a_hop_that_only_trusted_proxies_stand_behind(
                hops in prop::collection::vec(address(), 0..6),
                peer in address(),
            ) {
                let trusted = TrustedProxies::new(vec![Cidr::parse("10.0.0.0/24").unwrap()]);
                let header = hops.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
                let client = trusted.client(peer, [header.as_str()].into_iter());
                if !trusted.trusts(&peer) {
                    prop_assert_eq!(client, peer);
                } else if client != peer {
                    let at = hops.iter().rposition(|h| *h == client).expect("a listed hop");
                    prop_assert!(hops[at + 1..].iter().all(|h| trusted.trusts(h)));
                }
            }
        }
    }
}
