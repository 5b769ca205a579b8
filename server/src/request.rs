//! Where a request came from, for the System Log, rate limits and error references: the
//! client's address (behind the proxies idflow trusts) and the id the request-id layer
//! gave it.

use crate::AppState;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use std::net::SocketAddr;

/// The client's address: the peer; or, behind proxies idflow trusts
/// (`IDFLOW_TRUST_FORWARDED_FOR`), the right-most X-Forwarded-For address that is not one
/// of the trusted proxies — the left-most hops are whatever the client claimed.
pub fn client_address(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<String> {
    if state.trust_forwarded_for {
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        let trusted = |ip: &std::net::IpAddr| state.trusted_proxies.iter().any(|n| n.contains(ip));
        for hop in hops.iter().rev() {
            match hop.parse::<std::net::IpAddr>() {
                Ok(ip) if trusted(&ip) => continue,
                Ok(ip) => return Some(ip.to_string()),
                // Not an address: whatever stands left of it cannot be trusted either.
                Err(_) => break,
            }
        }
    }
    peer.map(|p| p.ip().to_string())
}

/// The address of the connection's other end, when the server recorded it.
pub fn peer_address(request: &Request) -> Option<SocketAddr> {
    peer_in(request.extensions())
}

/// The peer's address among a request's extensions.
pub fn peer_in(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// The id the request-id layer gave this request.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
