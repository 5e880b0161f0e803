//! `GET /dashboard`: the live dashboard page (`query-api/static/dashboard.html`), a static page
//! that uses only the public endpoints of both surfaces. The Psy endpoints are on the page's own
//! origin; the DFPN base URL is written into the page: `--dfpn-public-url` when set, else the host
//! the page was requested at with the DFPN listener's port.

use warp::http::HeaderValue;
use warp::reply::Response;

use crate::State;

/// The page, with `__DFPN_BASE__` still to be replaced.
const PAGE: &str = include_str!("../../static/dashboard.html");

/// The DFPN base URL for a page requested with `host` (the `Host` header).
pub fn dfpn_base(state: &State, host: Option<&str>) -> String {
    if let Some(url) = &state.dfpn_public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = host.unwrap_or("127.0.0.1");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    format!("http://{name}:{}", state.dfpn_port)
}

/// The dashboard page.
pub fn page(state: &State, host: Option<&str>) -> Response {
    let base = dfpn_base(state, host);
    let safe = base.chars().all(|c| c.is_ascii_alphanumeric() || ":/.-_[]".contains(c));
    let html = PAGE.replace("__DFPN_BASE__", if safe { &base } else { "http://127.0.0.1:3030" });
    let mut response = Response::new(html.into());
    response.headers_mut().insert("content-type", HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
