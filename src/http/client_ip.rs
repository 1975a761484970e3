//! The client's IP address: the socket peer, or the right-most untrusted
//! address of `X-Forwarded-For` when the peer is a trusted proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// A `trusted_proxies` entry: a CIDR, or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        if let Ok(net) = raw.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        let ip: IpAddr = raw
            .parse()
            .map_err(|_| anyhow::anyhow!("expected a CIDR such as 10.0.0.0/8 or an IP address"))?;
        Ok(Self(IpNet::from(ip)))
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

/// True when the socket peer is one of the trusted proxies.
pub fn is_trusted_peer(req: &HttpRequest, trusted: &[Cidr]) -> bool {
    req.peer_addr().is_some_and(|peer| trusted.iter().any(|c| c.contains(&peer.ip())))
}

pub fn client_ip(req: &HttpRequest, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.iter().any(|c| c.contains(&peer)) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    // Walk from the nearest hop outwards; the first address not ours is the client.
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !trusted.iter().any(|c| c.contains(&ip)) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("X-Forwarded-For", x));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let ip = client_ip(&request("203.0.113.9", Some("1.2.3.4")), &[]);
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let ip = client_ip(&request("10.0.0.2", Some("6.6.6.6, 198.51.100.7, 10.0.0.3")), &trusted);
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }
}
