//! Who sent a request: the client IP (behind a trusted proxy, the client it
//! forwarded for) and the user agent, and the `X-Forwarded-*` headers of
//! trusted proxies.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::USER_AGENT;
use actix_web::{FromRequest, HttpRequest, web};

use super::problem::AppError;
use super::state::AppState;
use crate::domain::network::TrustedProxies;
use crate::domain::requester::Requester;

/// Handlers take the `Requester` of their request as an argument.
impl FromRequest for Requester {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let requester = match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(requester(req, &state.trusted_proxies)),
            None => Err(AppError::Internal(anyhow::anyhow!("application state missing")).into()),
        };
        std::future::ready(requester)
    }
}

pub fn requester(req: &HttpRequest, proxies: &TrustedProxies) -> Requester {
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
    Requester::new(client_ip(req, proxies), user_agent)
}

/// The client's IP: the socket peer, or behind a trusted proxy the client
/// it forwarded for. Never what an untrusted peer claims in `X-Forwarded-For`.
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    req.peer_addr().map(|peer| {
        let forwarded_for = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok());
        proxies.client(peer.ip(), forwarded_for)
    })
}

/// True when the socket peer is one of the trusted proxies.
pub fn is_trusted_peer(req: &HttpRequest, proxies: &TrustedProxies) -> bool {
    req.peer_addr().is_some_and(|peer| proxies.trusts(&peer.ip()))
}

/// `X-Forwarded-<name>`, as text; only worth reading from a trusted proxy.
pub fn forwarded<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(format!("x-forwarded-{name}")).and_then(|v| v.to_str().ok())
}
