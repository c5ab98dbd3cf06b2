//! Which server a benchmark may hit: loopback addresses only (127.0.0.0/8,
//! ::1, localhost), so a load generator can never be pointed at someone
//! else's machine. `localhost` is resolved here and every address it resolves
//! to must be loopback; the run then connects to the resolved address.
use super::{LoadgenError, Result};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// A checked benchmark target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The loopback socket address connected to.
    pub addr: SocketAddr,
}

impl Target {
    /// `http://ADDR`, for tonic endpoints.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Parses `HOST:PORT` or `http://HOST:PORT` (IPv6 in brackets) and accepts it
/// only if it is loopback.
pub fn loopback_target(addr: &str) -> Result<Target> {
    let bad = |reason: &str| LoadgenError::BadAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = addr.trim();
    let rest = if let Some(rest) = trimmed.strip_prefix("http://") {
        rest
    } else if trimmed.contains("://") {
        return Err(bad(
            "only http:// is supported: docclass-bench connects without TLS, so benchmark a server started without --tls-cert",
        ));
    } else {
        trimmed
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in an IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected HOST:PORT, e.g. 127.0.0.1:50051 or [::1]:50051"))?;
        (host, port)
    } else {
        rest.rsplit_once(':')
            .ok_or_else(|| bad("expected HOST:PORT, e.g. 127.0.0.1:50051"))?
    };
    let port: u16 = port
        .parse()
        .map_err(|_| bad(&format!("{port:?} is not a port number")))?;
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !is_loopback(ip) {
            return Err(LoadgenError::NotLoopback {
                addr: addr.to_string(),
                detail: format!("{ip} is not loopback"),
            });
        }
        return Ok(Target {
            addr: SocketAddr::new(ip, port),
        });
    }
    if !host.eq_ignore_ascii_case("localhost") {
        return Err(LoadgenError::NotLoopback {
            addr: addr.to_string(),
            detail: format!("host names other than localhost are refused, got {host:?}"),
        });
    }
    let resolved: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve {host}: {e}")))?
        .collect();
    if let Some(outside) = resolved.iter().find(|a| !is_loopback(a.ip())) {
        return Err(LoadgenError::NotLoopback {
            addr: addr.to_string(),
            detail: format!("{host} resolves to {}", outside.ip()),
        });
    }
    resolved
        .first()
        .map(|&addr| Target { addr })
        .ok_or_else(|| bad(&format!("{host} resolves to no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_forms_are_accepted() {
        for (addr, want) in [
            ("127.0.0.1:50051", "127.0.0.1:50051"),
            ("http://127.0.0.1:50051/", "127.0.0.1:50051"),
            ("127.8.9.10:1", "127.8.9.10:1"),
            ("[::1]:7000", "[::1]:7000"),
            ("http://[::ffff:127.0.0.1]:7000", "[::ffff:127.0.0.1]:7000"),
        ] {
            let target = loopback_target(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
            assert_eq!(target.addr.to_string(), want, "{addr}");
        }
        let local = loopback_target("localhost:50051").expect("localhost");
        assert!(local.addr.ip().is_loopback());
        assert_eq!(local.addr.port(), 50051);
    }

    #[test]
    fn other_addresses_are_refused() {
        for addr in [
            "10.0.0.1:50051",
            "0.0.0.0:50051",
            "[::]:50051",
            "192.168.1.2:50051",
            "example.com:50051",
            "[2001:db8::1]:50051",
        ] {
            assert!(
                matches!(loopback_target(addr), Err(LoadgenError::NotLoopback { .. })),
                "{addr} must be refused"
            );
        }
        for addr in [
            "https://127.0.0.1:1",
            "127.0.0.1",
            "127.0.0.1:x",
            ":50051",
            "[::1:50051",
        ] {
            assert!(
                matches!(loopback_target(addr), Err(LoadgenError::BadAddress { .. })),
                "{addr} is malformed"
            );
        }
    }
}
