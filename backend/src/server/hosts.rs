//! The `Host` header a request must carry: the name of an address this server listens on.
//!
//! A web page on another site can point its own DNS name at 127.0.0.1 ("DNS rebinding") and
//! then talk to procviz as if it were same-origin; the `Host` header still says the
//! attacker's name, so refusing every name but ours defeats it. Listening beyond loopback does
//! not switch the check off: the names allowed are the addresses actually bound (every
//! address of the machine's interfaces for `0.0.0.0` / `::`), `localhost` when loopback is
//! bound, and the machine's hostname when more than 127.0.0.1 / ::1 is bound.

use std::net::{IpAddr, SocketAddr};

/// The `Host` values that name a server listening on `bound` (same port for all).
pub fn allowed_hosts(bound: &[SocketAddr]) -> Vec<String> {
    let mut ips: Vec<(IpAddr, u16)> = Vec::new();
    for addr in bound {
        if addr.ip().is_unspecified() {
            ips.extend(
                interface_addresses(addr.ip())
                    .into_iter()
                    .map(|ip| (ip, addr.port())),
            );
        } else {
            ips.push((addr.ip(), addr.port()));
        }
    }
    let mut hosts: Vec<String> = ips.iter().map(|&(ip, port)| host_of(ip, port)).collect();
    for &(ip, port) in &ips {
        if ip.is_loopback() {
            hosts.push(format!("localhost:{port}"));
        }
    }
    let default_loopback = |ip: &IpAddr| {
        *ip == IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
            || *ip == IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    };
    if let Some(&(_, port)) = ips.iter().find(|(ip, _)| !default_loopback(ip))
        && let Ok(name) = nix::unistd::gethostname()
        && let Some(name) = name.to_str()
    {
        hosts.push(format!("{name}:{port}"));
    }
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.to_ascii_lowercase()));
    hosts
}

/// The address this machine reaches its network by (where students' laptops find it): the
/// source address the kernel would pick for a packet to a public address. Nothing is sent (a
/// UDP "connect" only picks the route). `None` without a route or when only loopback is up.
pub fn lan_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // TEST-NET-1 (RFC 5737): routed like any public address, never answered.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// `ip:port` as a `Host` header writes it (IPv6 in brackets).
pub fn host_of(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// Every address of this machine's interfaces of `unspecified`'s family (IPv6's `::` takes
/// both families, as Linux binds it dual-stack); loopback at least.
fn interface_addresses(unspecified: IpAddr) -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = match nix::ifaddrs::getifaddrs() {
        Ok(list) => list
            .filter_map(|i| i.address)
            .filter_map(|a| {
                a.as_sockaddr_in()
                    .map(|v4| IpAddr::V4(v4.ip()))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
            })
            .filter(|ip| unspecified.is_ipv6() || ip.is_ipv4())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not list the network interfaces");
            Vec::new()
        }
    };
    if !found.iter().any(IpAddr::is_loopback) {
        found.push(match unspecified {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn loopback_alone_allows_its_address_and_localhost() {
        assert_eq!(
            allowed_hosts(&[addr("127.0.0.1:8717")]),
            ["127.0.0.1:8717", "localhost:8717"]
        );
    }

    #[test]
    fn a_shared_address_adds_itself_and_the_hostname_and_nothing_else() {
        let hosts = allowed_hosts(&[addr("127.0.0.1:9000"), addr("127.0.0.2:9000")]);
        assert_eq!(
            &hosts[..3],
            ["127.0.0.1:9000", "127.0.0.2:9000", "localhost:9000"]
        );
        assert_eq!(hosts.len(), 4, "the hostname last: {hosts:?}");
        assert!(!hosts.iter().any(|h| h.starts_with("evil")));
    }

    #[test]
    fn every_interface_still_allows_only_this_machines_names() {
        let hosts = allowed_hosts(&[addr("0.0.0.0:9000")]);
        assert!(hosts.contains(&"127.0.0.1:9000".to_string()), "{hosts:?}");
        assert!(hosts.contains(&"localhost:9000".to_string()), "{hosts:?}");
        assert!(hosts.iter().all(|h| h.ends_with(":9000")), "{hosts:?}");
        assert!(
            !hosts.iter().any(|h| h.starts_with("0.0.0.0")),
            "the unspecified address is not a name: {hosts:?}"
        );
    }
}
