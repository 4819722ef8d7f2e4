//! The login page, login / logout / session endpoints, and API key management for the logged-in user.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jan_core::views::List;

use super::sessions::{self, COOKIE};
use super::views::{ApiKey, Credentials, Done, NewApiKey, Session};
use super::{client_ip, peer};
use crate::error::{ApiError, ApiResult};
use crate::routes::json_body::ApiJson;
use crate::routes::registry::Routes;
use crate::state::AppState;
use jan_core::error::ErrorCode;

pub fn routes() -> Routes {
    Routes::new()
        .get("/login", login_page)
        .post("/api/login", login)
        .post("/api/logout", logout)
        .get("/api/session", session)
        .get("/api/keys", list_keys)
        .post("/api/keys", create_key)
        .delete("/api/keys/{id}", revoke_key)
}

/// The full UI's login screen when it is embedded, else a self-contained page.
async fn login_page() -> Response {
    if let Some(page) = crate::routes::ui::login_page() {
        return page;
    }
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(LOGIN_PAGE),
    )
        .into_response()
}

/// Checks the credentials (rate-limited per client address) and sets the session cookie.
async fn login(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let auth = &state.auth;
    // IPv6 clients by their /64: one host has millions of addresses.
    let ip = crate::connection::address_key(client_ip(req.headers(), peer(&req), auth.behind_proxy));
    if let Err(wait) = auth.limiter.check(ip) {
        return Err(too_many(wait));
    }
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::new(ErrorCode::InvalidBody, "the body is too large"))?;
    let creds: Credentials = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("expected {{\"username\", \"password\"}}: {e}")))?;
    if !auth.has_login() {
        return Err(ApiError::new(ErrorCode::LoginNotConfigured, "no login is configured on this server"));
    }
    // Counted now, before the check: attempts that were all waiting on their bodies meet one by one here.
    let penalty = auth.limiter.attempt(ip).map_err(too_many)?;
    if !auth.login_matches(&creds.username, &creds.password) {
        tracing::warn!(client = %ip, "failed login");
        return Err(match penalty {
            Some(wait) => too_many(wait),
            None => ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password"),
        });
    }
    auth.limiter.succeeded(ip);
    let token = auth.sessions.create();
    let max_age = auth.sessions.ttl().as_secs();
    let secure = if auth.secure_cookie { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}");
    let mut response = Json(Done { ok: true }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn too_many(wait: std::time::Duration) -> ApiError {
    let seconds = wait.as_secs().max(1);
    ApiError::new(ErrorCode::TooManyAttempts, format!("too many failed logins; try again in {seconds} s"))
}

async fn logout(State(state): State<AppState>, req: Request) -> Response {
    let token = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(sessions::token_from_cookies)
        .map(str::to_owned);
    if let Some(token) = token {
        state.auth.sessions.remove(&token);
    }
    let secure = if state.auth.secure_cookie { "; Secure" } else { "" };
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}");
    let mut response = Json(Done { ok: true }).into_response();
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Whether a login is needed and whether this request has a session (public: the UI asks before showing itself).
async fn session(State(state): State<AppState>, req: Request) -> Json<Session> {
    let auth = &state.auth;
    let authenticated = !auth.required()
        || req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(sessions::token_from_cookies)
            .is_some_and(|t| auth.sessions.is_valid(t));
    Json(Session { login_required: auth.has_login(), authenticated })
}

async fn list_keys(State(state): State<AppState>) -> Json<List<ApiKey>> {
    Json(List::of(state.auth.keys.list().iter().map(|k| ApiKey::of(k, None)).collect()))
}

/// Creates an API key; the response is the only time the key is shown.
async fn create_key(State(state): State<AppState>, ApiJson(new): ApiJson<NewApiKey>) -> ApiResult<Response> {
    let name = new.name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(ErrorCode::InvalidName, "a key name has at most 100 characters"));
    }
    let (key, stored) =
        state.auth.keys.create(if name.is_empty() { "API key" } else { name }).map_err(ApiError::internal)?;
    let mut response = (StatusCode::CREATED, Json(ApiKey::of(&stored, Some(key)))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    match state.auth.keys.revoke(&id).map_err(ApiError::internal)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("no API key with id {id}"))),
    }
}

/// A self-contained page (no external assets) so it loads before any session exists.
const LOGIN_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Jan: log in</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;display:grid;place-items:center;min-height:100vh;margin:0;background:#fafafa;color:#1d1d1f}
form{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1.5rem;display:grid;gap:.75rem;width:min(20rem,90vw)}
input,button{font:inherit;padding:.5rem}#error{color:#b00020;min-height:1.5em}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}form{background:#1b1b1b;border-color:#333}}
</style></head>
<body><form id="f"><h1 style="margin:0;font-size:1.3rem">Jan</h1>
<label>Username <input id="u" name="username" autocomplete="username" required autofocus></label>
<label>Password <input id="p" name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button><div id="error" role="alert"></div></form>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const error = document.getElementById('error'); error.textContent = '';
  try {
    const res = await fetch('api/login', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({username: document.getElementById('u').value, password: document.getElementById('p').value})});
    if (res.ok) { location.href = './'; return; }
    const body = await res.json().catch(() => null);
    error.textContent = res.status === 429 ? (body?.error?.message || 'Too many attempts; wait a moment.')
      : res.status === 401 ? 'Wrong username or password.' : (body?.error?.message || 'Login failed (' + res.status + ').');
  } catch (err) { error.textContent = 'The server cannot be reached.'; }
});
</script></body></html>"#;
