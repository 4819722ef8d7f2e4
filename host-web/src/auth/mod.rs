//! Who may do what.
//!
//! - With no credentials configured (allowed on loopback only) the server is open, like the desktop app, but
//!   only to requests addressed to a loopback host name (no DNS rebinding) and, when a browser says where it
//!   comes from, only from the server's own origin (no cross-site requests).
//! - With `JAN_USERNAME` / `JAN_PASSWORD`, the login page issues a session cookie (HttpOnly, SameSite=Strict,
//!   Secure over HTTPS) that opens everything. Cookie-authenticated requests that change state must come from the
//!   server's own origin or an allowed one (the `Origin` header is checked).
//! - API keys (`Authorization: Bearer`) open `/v1` and `/metrics` only.
//! - `/health`, the login page, the login endpoint and the UI's static files (`/assets/...`) are open to all.
//!
//! Secrets are compared as SHA-256 digests in constant time; they are never logged.

mod keys;
mod limiter;
mod routes;
mod sessions;
pub mod views;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use keys::StoredKey;
pub use routes::routes;
pub use sessions::COOKIE;

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;
use jan_core::error::ErrorCode;

/// SHA-256 of a secret: what is stored and compared.
fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The configured login.
#[derive(Debug)]
struct Login {
    username: [u8; 32],
    password: [u8; 32],
}

/// Credentials, sessions and the login rate limit.
#[derive(Debug)]
pub struct Auth {
    login: Option<Login>,
    keys: keys::Keys,
    sessions: sessions::Sessions,
    limiter: limiter::Limiter,
    secure_cookie: bool,
    behind_proxy: bool,
    allowed_origins: Vec<String>,
    /// Set when the operator chose to listen beyond loopback without credentials.
    insecure: bool,
}

impl Auth {
    pub async fn new(config: &Config, data_folder: &Path) -> anyhow::Result<Auth> {
        let login = if config.has_login() {
            Some(Login {
                username: digest(config.username.as_deref().unwrap_or_default()),
                password: digest(config.password.as_deref().unwrap_or_default()),
            })
        } else {
            None
        };
        let keys = keys::Keys::load(&config.api_keys, data_folder.join("settings").join("api-keys.json"))?;
        Ok(Auth {
            login,
            keys,
            sessions: sessions::Sessions::new(Duration::from_secs(config.session_hours.max(1) * 3600)),
            limiter: limiter::Limiter::default(),
            secure_cookie: config.secure_cookies(),
            behind_proxy: config.behind_https_proxy,
            allowed_origins: normalised_origins(&config.allowed_origins),
            insecure: config.insecure_no_auth,
        })
    }

    /// Whether requests must authenticate (a login or an API key exists).
    pub fn required(&self) -> bool {
        self.login.is_some() || self.keys.any()
    }

    /// Whether a login page is configured.
    pub fn has_login(&self) -> bool {
        self.login.is_some()
    }

    /// Checks a username and password in constant time (both are always compared).
    fn login_matches(&self, username: &str, password: &str) -> bool {
        match &self.login {
            Some(l) => {
                let user = l.username.ct_eq(&digest(username));
                let pass = l.password.ct_eq(&digest(password));
                (user & pass).into()
            }
            None => false,
        }
    }

    #[doc(hidden)]
    pub fn expire_sessions(&self) {
        self.sessions.expire_all();
    }
}

/// Where a path belongs, for the access rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Public,
    /// `/v1/...`: Jan's and the OpenAI-compatible API.
    Api,
    Metrics,
    /// The UI's pages and `/api/...`.
    Ui,
}

fn area(path: &str) -> Area {
    match path {
        "/health" | "/login" | "/api/login" | "/api/session" | "/favicon.ico" => Area::Public,
        p if crate::routes::ui::is_public_asset(p) => Area::Public,
        "/metrics" => Area::Metrics,
        p if p == "/v1" || p.starts_with("/v1/") => Area::Api,
        _ => Area::Ui,
    }
}

/// The access rules, as a middleware around every route.
pub async fn require(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let auth = &state.auth;
    let path = req.uri().path().to_owned();
    let area = area(&path);
    if area == Area::Public {
        return next.run(req).await;
    }
    let headers = req.headers();
    let changes_state = changes_state(req.method(), &path);

    if let Some(key) = bearer(headers) {
        if !auth.keys.check(key) {
            return ApiError::new(ErrorCode::InvalidApiKey, "Incorrect API key provided.").into_response();
        }
        if area == Area::Ui {
            return ApiError::new(
                ErrorCode::ApiKeyNotAllowed,
                "API keys work on /v1 and /metrics only; log in instead",
            )
            .into_response();
        }
        return next.run(req).await;
    }

    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(sessions::token_from_cookies)
        .is_some_and(|token| auth.sessions.is_valid(token));
    let open = !auth.required();
    if open && !auth.insecure && !host_is_loopback(headers) {
        return ApiError::new(ErrorCode::HostNotAllowed, "this server only answers requests addressed to localhost")
            .into_response();
    }
    if session || open {
        if changes_state && !origin_allowed(auth, headers, !open) {
            return ApiError::new(ErrorCode::CrossOrigin, "cross-origin requests that change state are refused")
                .into_response();
        }
        return next.run(req).await;
    }
    if area == Area::Ui && !path.starts_with("/api/") && accepts_html(headers) && *req.method() == Method::GET {
        return redirect_to_login(&path);
    }
    let message = if auth.has_login() {
        "Log in first, or send an API key (Authorization: Bearer ...) to /v1."
    } else {
        "An API key is required (Authorization: Bearer ...)."
    };
    ApiError::new(ErrorCode::InvalidApiKey, message).into_response()
}

/// Whether a request changes state: every method but GET, HEAD and OPTIONS, and Jan's one GET that does (starting
/// a catalog download; `POST` does the same and is what the UI sends).
fn changes_state(method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || path.starts_with("/v1/models/download/")
}

/// `Authorization: Bearer <key>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// The host the client addressed (`Host`, or `X-Forwarded-Host` behind a proxy), lowercased, port included.
fn addressed_host(headers: &HeaderMap, behind_proxy: bool) -> Option<String> {
    let forwarded = behind_proxy.then(|| headers.get("x-forwarded-host")).flatten();
    let value = forwarded.or_else(|| headers.get(header::HOST))?.to_str().ok()?;
    Some(value.split(',').next().unwrap_or(value).trim().to_ascii_lowercase())
}

fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = addressed_host(headers, false) else { return true };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':')
            .map_or(host.as_str(), |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host.as_str() })
    };
    name == "localhost" || name.ends_with(".localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a state-changing request comes from the server's own origin (scheme included: `https` where the server
/// is reached over TLS) or an allowed one. Browsers name a request's site on every request (`Sec-Fetch-Site`),
/// also on the GETs an `<img>` makes, which carry no `Origin`: a cross-site or same-site one is refused. Without
/// either header: refused when `strict` (cookie sessions: browsers always send one), allowed otherwise (open
/// mode: non-browser clients).
fn origin_allowed(auth: &Auth, headers: &HeaderMap, strict: bool) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return match fetch_site.as_deref() {
            Some("same-origin" | "none") => true,
            Some(_) => false,
            None => !strict,
        };
    };
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if auth.allowed_origins.contains(&origin) {
        return true;
    }
    if matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return false;
    }
    let scheme = if auth.secure_cookie { "https" } else { "http" };
    addressed_host(headers, auth.behind_proxy).is_some_and(|host| origin == format!("{scheme}://{host}"))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// A relative redirect to the login page (works behind any path prefix).
fn redirect_to_login(path: &str) -> Response {
    let depth = path.trim_start_matches('/').matches('/').count();
    let location = format!("{}login", "../".repeat(depth));
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The client's address for the login rate limit: the peer, or behind a proxy the last `X-Forwarded-For` hop.
fn client_ip(req_headers: &HeaderMap, peer: Option<SocketAddr>, behind_proxy: bool) -> IpAddr {
    if behind_proxy {
        let forwarded = req_headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|v| v.trim().parse().ok()) {
            return ip;
        }
    }
    peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip())
}

fn peer(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

fn normalised_origins(origins: &[String]) -> Vec<String> {
    origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
        .filter(|o| !o.is_empty() && o != "*")
        .collect()
}

/// CORS for the configured origins only (never `*`); bearer-token clients need no credentials mode.
pub fn cors_layer(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        normalised_origins(&config.allowed_origins).iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn areas() {
        assert_eq!(area("/health"), Area::Public);
        assert_eq!(area("/v1/models"), Area::Api);
        assert_eq!(area("/v1x"), Area::Ui);
        assert_eq!(area("/api/events"), Area::Ui);
        assert_eq!(area("/"), Area::Ui);
    }

    #[test]
    fn loopback_hosts() {
        for ok in ["localhost:1337", "127.0.0.1:1337", "[::1]:1337", "localhost", "app.localhost:80"] {
            assert!(host_is_loopback(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in ["evil.example:1337", "10.0.0.5:1337", "localhost.evil.example"] {
            assert!(!host_is_loopback(&headers(&[("host", bad)])), "{bad}");
        }
    }

    #[test]
    fn bearer_and_redirects() {
        assert_eq!(bearer(&headers(&[("authorization", "Bearer abc ")])), Some("abc"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        let r = redirect_to_login("/threads/123");
        assert_eq!(r.headers()[header::LOCATION], "../login");
        assert_eq!(redirect_to_login("/").headers()[header::LOCATION], "login");
    }
}
