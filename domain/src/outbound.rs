//! The outbound guard: every request a flow sends (an HTTP card, a connection's test)
//! goes through a client that refuses destinations inside the network idflow runs in —
//! loopback, private and link-local ranges (cloud metadata lives there), carrier-grade
//! NAT, unique-local, multicast, unspecified, and IPv6 forms that carry an IPv4 address
//! (mapped, compatible, NAT64, 6to4, Teredo). The address is checked after DNS
//! resolution, in the resolver itself (so a name that resolves to a private address is
//! refused too), for an address written in the URL, and again on every redirect (at
//! most five). No proxy is taken from the environment; answers are read up to a cap.
//!
//! A Super Admin may allow named hosts or ranges (`IDFLOW_OUTBOUND_ALLOW`): that is how
//! a company's internal services, and the tests' servers on 127.0.0.1, are reached.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The most redirects followed.
pub const MAX_REDIRECTS: usize = 5;

/// Why a destination is refused, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by the outbound guard: {0}")]
pub struct Refused(pub String);

/// The hosts and ranges a Super Admin allowed despite the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    hosts: Vec<String>,
    ranges: Vec<IpNet>,
}

impl Allowed {
    /// Reads a comma- or space-separated list of host names (`intranet.example.com`),
    /// addresses (`127.0.0.1`) and ranges (`10.1.0.0/16`).
    pub fn parse(list: &str) -> Result<Allowed, String> {
        let mut allowed = Allowed::default();
        for item in list
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Ok(net) = item.parse::<IpNet>() {
                allowed.ranges.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                allowed.ranges.push(IpNet::from(ip));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && item.contains(|c: char| c.is_ascii_alphabetic())
            {
                allowed
                    .hosts
                    .push(item.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{item:?} is not a host name, an address or a range (like 10.0.0.0/8)"
                ));
            }
        }
        Ok(allowed)
    }

    /// What `self` allows and what `more` allows.
    pub fn with(&self, more: &Allowed) -> Allowed {
        let mut both = self.clone();
        for host in &more.hosts {
            if !both.hosts.contains(host) {
                both.hosts.push(host.clone());
            }
        }
        for range in &more.ranges {
            if !both.ranges.contains(range) {
                both.ranges.push(*range);
            }
        }
        both
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.ranges.is_empty()
    }

    fn host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    fn address(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|net| net.contains(&ip))
    }
}

impl std::fmt::Display for Allowed {
    /// The list as [`Allowed::parse`] reads it back: hosts, then ranges, one per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> =
            self.hosts
                .iter()
                .cloned()
                .chain(self.ranges.iter().map(|net| {
                    match net.prefix_len() == net.max_prefix_len() {
                        true => net.addr().to_string(),
                        false => net.to_string(),
                    }
                }))
                .collect();
        f.write_str(&items.join("\n"))
    }
}

/// What the guard lets through beyond its rules: the server's own list
/// (`IDFLOW_OUTBOUND_ALLOW`, fixed at start) and the one a Super Admin keeps in Settings,
/// which may change while idflow runs. Shared by the resolver, the redirect check and
/// the cards.
#[derive(Debug, Default)]
pub struct AllowList {
    fixed: Allowed,
    now: std::sync::RwLock<Arc<Allowed>>,
}

impl AllowList {
    pub fn new(fixed: Allowed) -> AllowList {
        AllowList {
            now: std::sync::RwLock::new(Arc::new(fixed.clone())),
            fixed,
        }
    }

    /// What is allowed now.
    pub fn get(&self) -> Arc<Allowed> {
        self.now.read().expect("the allow list's lock").clone()
    }

    /// The server's own list, which Settings cannot change.
    pub fn fixed(&self) -> &Allowed {
        &self.fixed
    }

    /// Allows the server's own list and `setting`.
    pub fn set(&self, setting: &Allowed) {
        *self.now.write().expect("the allow list's lock") = Arc::new(self.fixed.with(setting));
    }
}

/// The rule that refuses `ip`, if one does.
pub fn rule_against(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => rule_against_v4(v4),
        IpAddr::V6(v6) => rule_against_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn rule_against_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RULES: [([u8; 4], u8, &str); 14] = [
        (
            [0, 0, 0, 0],
            8,
            "an unspecified or \"this network\" address (0.0.0.0/8)",
        ),
        ([127, 0, 0, 0], 8, "a loopback address (127.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "a private address (10.0.0.0/8)"),
        ([172, 16, 0, 0], 12, "a private address (172.16.0.0/12)"),
        ([192, 168, 0, 0], 16, "a private address (192.168.0.0/16)"),
        (
            [169, 254, 0, 0],
            16,
            "a link-local address (169.254.0.0/16, where cloud metadata services answer)",
        ),
        (
            [100, 64, 0, 0],
            10,
            "a carrier-grade NAT address (100.64.0.0/10)",
        ),
        (
            [192, 0, 0, 0],
            24,
            "an IETF protocol address (192.0.0.0/24)",
        ),
        ([192, 0, 2, 0], 24, "a documentation address (192.0.2.0/24)"),
        (
            [198, 18, 0, 0],
            15,
            "a benchmarking address (198.18.0.0/15)",
        ),
        (
            [198, 51, 100, 0],
            24,
            "a documentation address (198.51.100.0/24)",
        ),
        (
            [203, 0, 113, 0],
            24,
            "a documentation address (203.0.113.0/24)",
        ),
        ([224, 0, 0, 0], 4, "a multicast address (224.0.0.0/4)"),
        (
            [240, 0, 0, 0],
            4,
            "a reserved or broadcast address (240.0.0.0/4)",
        ),
    ];
    RULES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, rule)| *rule)
}

fn rule_against_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("the unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("a loopback address (::1)");
    }
    // IPv6 forms that carry an IPv4 address are refused whatever that address is: a
    // public service has a plain address of its own.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return Some("an IPv6 address carrying an IPv4 one (::ffff:0:0/96 or ::/96)");
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1] {
        return Some("a NAT64 address (64:ff9b::/96, 64:ff9b:1::/48)");
    }
    if s[0] == 0x2002 {
        return Some("a 6to4 address (2002::/16)");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("a Teredo address (2001::/32)");
    }
    if s[0] == 0x2001 && s[1] == 0xdb8 {
        return Some("a documentation address (2001:db8::/32)");
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => Some("a unique-local address (fc00::/7)"),
        x if x & 0xffc0 == 0xfe80 => Some("a link-local address (fe80::/10)"),
        x if x & 0xffc0 == 0xfec0 => Some("a site-local address (fec0::/10)"),
        x if x & 0xff00 == 0xff00 => Some("a multicast address (ff00::/8)"),
        _ => None,
    }
}

/// The guard's decision on one address reached through `host`.
pub fn check_address(allowed: &Allowed, host: &str, ip: IpAddr) -> Result<(), Refused> {
    if allowed.host(host) || allowed.address(ip) {
        return Ok(());
    }
    match rule_against(ip) {
        Some(rule) => Err(Refused(format!(
            "{host} is {ip}, {rule}; a Super Admin can allow it in IDFLOW_OUTBOUND_ALLOW"
        ))),
        None => Ok(()),
    }
}

/// The guard's decision on a URL before anything is sent: its scheme, and its host when
/// that is an address. Names are checked when they are resolved.
pub fn check_url(allowed: &Allowed, url: &url::Url) -> Result<(), Refused> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Refused(format!(
                "only http and https addresses may be called, not {other}:"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused(
            "credentials in the address are not sent; use a connection".into(),
        ));
    }
    match url.host() {
        None => Err(Refused("the address names no host".into())),
        Some(url::Host::Ipv4(ip)) => check_address(allowed, &ip.to_string(), IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => check_address(allowed, &ip.to_string(), IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            // A name the resolver would read as an address is judged as that address.
            match name.trim_end_matches('.').parse::<IpAddr>() {
                Ok(ip) => check_address(allowed, name, ip),
                Err(_) => Ok(()),
            }
        }
    }
}

/// Resolves names for the guarded client, refusing a name any of whose addresses a rule
/// refuses.
struct GuardedResolver {
    allowed: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.get();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            for address in &addresses {
                check_address(&allowed, &host, address.ip())?;
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// A client for flows' outbound requests, guarded as this module says.
pub fn client(allowed: Arc<AllowList>, timeout: Duration) -> reqwest::Client {
    let on_redirect = allowed.clone();
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allowed }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(Refused(format!("more than {MAX_REDIRECTS} redirects")))
            } else if let Err(refused) = check_url(&on_redirect.get(), attempt.url()) {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        }))
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("idflow/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the outbound client's settings are valid")
}

/// Why an outbound request found no answer, as a card's record says it: never with the
/// URL (a webhook's URL is its secret; a query may hold one).
pub fn describe(error: reqwest::Error) -> String {
    use std::error::Error;
    let error = error.without_url();
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        "no answer in time".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_redirect() {
        "too many or refused redirects".into()
    } else {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// Reads at most `cap` bytes of `response`'s body; `true` when there was more.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(url: &str) -> Result<(), Refused> {
        check_url(&Allowed::default(), &url::Url::parse(url).expect(url))
    }

    /// Hostile destinations written as the URL would carry them, in every notation the
    /// URL standard reads as an address: each refused before any socket is opened.
    const HOSTILE: [&str; 44] = [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://127.000.000.001/",
        "http://0/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://012.0.0.1/",
        "http://167772161/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://0xc0a80101/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://100.64.0.1/",
        "http://100.127.255.254/",
        "http://224.0.0.1/",
        "http://239.255.255.250/",
        "http://255.255.255.255/",
        "http://198.18.0.1/",
        "http://[::1]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b:1::a00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://[fc00::1]/",
        "http://[fd12:3456:789a::1]/",
        "http://[fe80::1]/",
        "http://[fec0::1]/",
        "http://[ff02::1]/",
        "file:///etc/passwd",
        "gopher://example.com:70/",
        "http://user:pass@example.com/",
    ];

    #[test]
    fn hostile_destinations_are_refused_before_anything_is_sent() {
        for url in HOSTILE {
            let refused = judged(url).expect_err(url);
            assert!(
                refused
                    .to_string()
                    .starts_with("refused by the outbound guard"),
                "{url}: {refused}"
            );
        }
        assert!(
            judged("http://127.0.0.1/")
                .unwrap_err()
                .0
                .contains("loopback")
        );
        assert!(
            judged("http://169.254.169.254/")
                .unwrap_err()
                .0
                .contains("cloud metadata")
        );
    }

    #[test]
    fn public_destinations_pass_and_names_wait_for_their_addresses() {
        for url in [
            "https://example.com/",
            "https://93.184.215.14/",
            "http://8.8.8.8:8080/path?q=1",
            "https://[2606:4700:4700::1111]/",
            "https://hooks.slack.com/services/x",
        ] {
            assert_eq!(judged(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn an_allowed_host_or_range_passes() {
        let allowed = Allowed::parse("127.0.0.1, intranet.example.com 10.1.0.0/16").unwrap();
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert_eq!(check_url(&allowed, &url("http://127.0.0.1:8080/")), Ok(()));
        assert_eq!(check_url(&allowed, &url("http://10.1.2.3/")), Ok(()));
        assert!(check_url(&allowed, &url("http://10.2.0.1/")).is_err());
        assert!(check_url(&allowed, &url("http://127.0.0.2/")).is_err());
        assert_eq!(
            check_address(
                &allowed,
                "intranet.example.com",
                "192.168.1.1".parse().unwrap()
            ),
            Ok(())
        );
        assert!(
            check_address(
                &allowed,
                "other.example.com",
                "192.168.1.1".parse().unwrap()
            )
            .is_err()
        );
        assert!(Allowed::parse("http://x/").is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_refused_address_is_refused_in_the_resolver() {
        use reqwest::dns::Resolve;
        let resolver = GuardedResolver {
            allowed: Arc::new(AllowList::default()),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let refused = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost resolved through the guard"),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("loopback"), "{refused}");
    }
}
