//! Per-client rate limiting over fixed windows, with the `X-RateLimit-*` headers.
//!
//! A client is its peer IP address, or, behind trusted proxies (the nginx setup of the DFPN
//! document), the right-most `X-Forwarded-For` hop that is not a trusted proxy: the address the
//! outermost trusted proxy saw, which the client cannot choose (hops to its left are written by
//! the client). IPv6 clients are counted by prefix (`/64` by default), since one host holds a
//! whole prefix. A client presenting a valid bearer token is counted by the token's subject, at
//! the authenticated limit.
//!
//! Memory and per-request cost stay bounded at any number of clients: keys are at most
//! [`MAX_KEY_BYTES`] long, and the map holds at most `max_clients` keys (past windows are swept at
//! most once per window when it is full). New clients beyond that are counted in one of
//! [`OVERFLOW_BUCKETS`] shared overflow keys, chosen by a keyed hash of the client: a flood of
//! new addresses neither grows the map nor locks every later client out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// Longest client key kept, in bytes (longer ones, such as a long token subject, are cut).
pub const MAX_KEY_BYTES: usize = 96;
/// Default number of clients counted apart per window.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;
/// Default IPv6 prefix length clients are counted by.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;
/// Overflow keys new clients share once the map is full.
pub const OVERFLOW_BUCKETS: u64 = 256;
/// Default requests per window for anonymous clients.
pub const DEFAULT_ANONYMOUS_LIMIT: u64 = 100;
/// Default requests per window for clients with a valid bearer token.
pub const DEFAULT_AUTHENTICATED_LIMIT: u64 = 1_000;
/// Default window length, in seconds.
pub const DEFAULT_WINDOW_SECS: u64 = 60;
/// Default number of trusted proxies in front (0: the peer is the client).
pub const DEFAULT_TRUSTED_PROXY_HOPS: u8 = 0;

/// Limits per window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests per window without a valid token.
    pub anonymous: u64,
    /// Requests per window with a valid token.
    pub authenticated: u64,
    /// Window length.
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            anonymous: DEFAULT_ANONYMOUS_LIMIT,
            authenticated: DEFAULT_AUTHENTICATED_LIMIT,
            window: Duration::from_secs(DEFAULT_WINDOW_SECS),
        }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The client's limit.
    pub limit: u64,
    /// Requests left in the window.
    pub remaining: u64,
    /// Unix second at which the window resets.
    pub reset: u64,
    /// Whether this request is over the limit.
    pub exceeded: bool,
}

/// Fixed-window counters per client, in a map of bounded size.
pub struct RateLimiter {
    limits: Limits,
    max_clients: usize,
    hasher: std::collections::hash_map::RandomState,
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    counts: HashMap<String, (u64, u64)>,
    swept_window: Option<u64>,
}

impl RateLimiter {
    /// A limiter with `limits`, counting at most `max_clients` clients apart.
    pub fn new(limits: Limits, max_clients: usize) -> Self {
        Self {
            limits,
            max_clients: max_clients.max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            state: Mutex::new(Windows::default()),
        }
    }

    /// Clients counted now (overflow keys included).
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).counts.len()
    }

    /// Counts a request of `client` at unix time `now_ms` (milliseconds).
    pub fn check(&self, client: &str, authenticated: bool, now_ms: u64) -> Quota {
        let limit = if authenticated { self.limits.authenticated } else { self.limits.anonymous };
        let window_ms = self.limits.window.as_millis().max(1) as u64;
        let window_start = now_ms - now_ms % window_ms;
        let client = truncate(client, MAX_KEY_BYTES);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Windows { counts, swept_window } = &mut *state;
        if !counts.contains_key(client) && counts.len() >= self.max_clients && *swept_window != Some(window_start) {
            counts.retain(|_, (start, _)| *start == window_start);
            *swept_window = Some(window_start);
        }
        let overflow;
        let key = if counts.contains_key(client) || counts.len() < self.max_clients {
            client
        } else {
            use std::hash::BuildHasher;
            overflow = format!("overflow:{}", self.hasher.hash_one(client) % OVERFLOW_BUCKETS);
            &overflow
        };
        let entry = match counts.get_mut(key) {
            Some(entry) => entry,
            None => counts.entry(key.to_owned()).or_insert((window_start, 0)),
        };
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
        let used = entry.1;
        Quota {
            limit,
            remaining: limit.saturating_sub(used),
            reset: (window_start + window_ms).div_ceil(1_000),
            exceeded: used > limit,
        }
    }
}

/// The longest prefix of `value` of at most `max` bytes ending on a character boundary.
pub fn truncate(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// An address or network (`10.0.0.0/8`, `::1`) of a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value, None),
        };
        let address: IpAddr =
            address.trim().parse().map_err(|_| format!("{value:?} is not an IP address or CIDR network"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().ok().filter(|p| *p <= max),
            None => Some(max),
        }
        .ok_or_else(|| format!("{value:?}: the prefix length must be at most {max}"))?;
        Ok(Self { address: masked(address, prefix), prefix })
    }
}

impl Network {
    /// Whether `address` lies in this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4() && masked(address, self.prefix) == self.address
    }
}

fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// Which proxies in front of the service are trusted to append `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyTrust {
    /// None: the peer address is the client (`X-Forwarded-For` is ignored).
    #[default]
    None,
    /// The peer and the next `n - 1` hops to its left are trusted proxies.
    Hops(u8),
    /// Peers and hops in these networks are trusted proxies.
    Networks(Vec<Network>),
}

/// How requests are mapped to client keys.
#[derive(Debug, Clone)]
pub struct ClientKeys {
    /// Trusted proxies.
    pub proxies: ProxyTrust,
    /// IPv6 clients are counted by this prefix length.
    pub ipv6_prefix: u8,
}

impl Default for ClientKeys {
    fn default() -> Self {
        Self { proxies: ProxyTrust::None, ipv6_prefix: DEFAULT_IPV6_PREFIX }
    }
}

impl ClientKeys {
    /// The client address of a request from `peer` carrying the `X-Forwarded-For` values
    /// `forwarded` (every such header, in order): the right-most hop that is no trusted proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        let trusted = |address: IpAddr, position: usize| match &self.proxies {
            ProxyTrust::None => false,
            ProxyTrust::Hops(n) => position < usize::from(*n),
            ProxyTrust::Networks(networks) => networks.iter().any(|network| network.contains(address)),
        };
        if !trusted(peer, 0) {
            return Some(peer);
        }
        let mut hops = forwarded.iter().rev().flat_map(|value| value.rsplit(','));
        let mut position = 1;
        let mut client = peer;
        // At most 256 hops are read: a longer chain ends at the last one read.
        while position <= 256 {
            let Some(hop) = hops.next() else { return Some(client) };
            let Some(address) = parse_hop(hop) else { return Some(client) };
            client = address;
            if !trusted(address, position) {
                return Some(address);
            }
            position += 1;
        }
        Some(client)
    }

    /// The rate-limit key of a request (see [`ClientKeys::client_ip`]).
    pub fn key(&self, peer: Option<SocketAddr>, forwarded: &[&str]) -> String {
        match self.client_ip(peer.map(|p| p.ip()), forwarded) {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                format!("ip:{}/{}", masked(IpAddr::V6(v6), self.ipv6_prefix), self.ipv6_prefix)
            }
            Some(IpAddr::V6(v6)) => format!("ip:{}", v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
            Some(v4) => format!("ip:{v4}"),
            None => "ip:unknown".to_owned(),
        }
    }
}

/// A hop of `X-Forwarded-For`: an address, possibly bracketed or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if hop.len() > 64 {
        return None;
    }
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_101st_anonymous_request_in_a_window_is_refused_and_the_window_resets() {
        let limiter = RateLimiter::new(Limits::default(), DEFAULT_MAX_CLIENTS);
        let start = 1_720_000_020_000;
        for n in 1..=100 {
            let quota = limiter.check("ip:1.2.3.4", false, start);
            assert!(!quota.exceeded);
            assert_eq!(quota.remaining, 100 - n);
        }
        let over = limiter.check("ip:1.2.3.4", false, start + 1);
        assert!(over.exceeded);
        assert_eq!((over.limit, over.remaining, over.reset), (100, 0, 1_720_000_080));
        assert!(!limiter.check("ip:5.6.7.8", false, start).exceeded, "clients are counted apart");
        assert!(!limiter.check("ip:1.2.3.4", false, 1_720_000_080_000).exceeded, "next window");
        assert_eq!(limiter.check("sub:ops", true, start).limit, 1_000);
    }

    #[test]
    fn the_map_is_bounded_and_new_clients_past_it_share_overflow_keys() {
        let limiter = RateLimiter::new(Limits { anonymous: 3, ..Limits::default() }, 10);
        let now = 1_720_000_020_000;
        for n in 0..100_000 {
            limiter.check(&format!("ip:10.{}.{}.{}", n / 65_536, (n / 256) % 256, n % 256), false, now);
        }
        let tracked = limiter.tracked();
        assert!(tracked <= 10 + OVERFLOW_BUCKETS as usize, "{tracked} keys");
        assert!(limiter.check("ip:99.9.9.9", false, now).exceeded, "overflow keys over their limit");
        limiter.check("ip:99.9.9.9", false, now + 60_000);
        assert_eq!(limiter.tracked(), 1, "a new window sweeps the old one");
        let long = "x".repeat(10_000);
        limiter.check(&long, false, now + 60_000);
        assert!(limiter.state.lock().unwrap().counts.keys().all(|k| k.len() <= MAX_KEY_BYTES));
    }

    #[test]
    fn the_key_is_the_right_most_untrusted_hop() {
        let peer: Option<SocketAddr> = Some("127.0.0.1:5000".parse().unwrap());
        let one = ClientKeys { proxies: ProxyTrust::Hops(1), ..ClientKeys::default() };
        assert_eq!(one.key(peer, &["6.6.6.6, 9.9.9.9"]), "ip:9.9.9.9");
        assert_eq!(one.key(peer, &["6.6.6.6", "9.9.9.9"]), "ip:9.9.9.9", "headers in order");
        assert_eq!(one.key(peer, &[]), "ip:127.0.0.1");
        assert_eq!(one.key(peer, &["junk"]), "ip:127.0.0.1", "an unreadable hop is not the client");
        let two = ClientKeys { proxies: ProxyTrust::Hops(2), ..ClientKeys::default() };
        assert_eq!(two.key(peer, &["6.6.6.6, 9.9.9.9, 10.0.0.2"]), "ip:9.9.9.9");
        let networks = ClientKeys {
            proxies: ProxyTrust::Networks(vec!["127.0.0.0/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()]),
            ..ClientKeys::default()
        };
        assert_eq!(networks.key(peer, &["6.6.6.6, 9.9.9.9, 10.1.2.3"]), "ip:9.9.9.9");
        let outside: Option<SocketAddr> = Some("8.8.8.8:1".parse().unwrap());
        assert_eq!(networks.key(outside, &["9.9.9.9"]), "ip:8.8.8.8", "an untrusted peer is the client");
        assert_eq!(ClientKeys::default().key(peer, &["9.9.9.9"]), "ip:127.0.0.1");
        assert_eq!(one.key(peer, &["2001:db8:1:2:3:4:5:6"]), "ip:2001:db8:1:2::/64");
        assert_eq!(one.key(peer, &["[2001:db8:1:2::9]:443"]), "ip:2001:db8:1:2::/64");
    }
}
