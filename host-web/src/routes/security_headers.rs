//! Headers every response carries, whatever answered it (a route, the UI, a 404 or a 405): no `Referer` leaves
//! the app (a thread's id in the address must not reach a link's site), no content sniffing, and over HTTPS (our
//! own TLS, or a TLS proxy in front) `Strict-Transport-Security`, so a browser that came once never tries plain
//! HTTP again.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// One year, the usual HSTS lifetime; no `includeSubDomains`: the server cannot speak for its domain's other hosts.
const HSTS: &str = "max-age=31536000";

pub async fn add(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if state.config.tls_cert.is_some() || state.config.behind_https_proxy {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}
