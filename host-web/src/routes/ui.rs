//! The UI, embedded in the binary and served with relative URLs only (Jan's web mode broke behind proxies when
//! it called `localhost`): the shared UI's build (`ui/dist`, made by `build.rs` through `ci/build-ui.sh`), or,
//! where it could not be built (no npm), the small page in `host-web/assets/`.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use rust_embed::RustEmbed;

use super::registry::Routes;
use crate::state::AppState;

#[cfg(jan_full_ui)]
#[derive(RustEmbed)]
#[folder = "../ui/dist/"]
struct Assets;

#[cfg(not(jan_full_ui))]
#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// Whether the full UI is embedded (it has its own login screen and loads its files from `assets/`).
pub const FULL_UI: bool = cfg!(jan_full_ui);

/// The UI's files under `/assets/` are public: the login screen needs them before any session exists. They are
/// the same for everyone and hold no data.
pub fn is_public_asset(path: &str) -> bool {
    FULL_UI && path.starts_with("/assets/") && Assets::get(path.trim_start_matches('/')).is_some()
}

/// The full UI's page for `/login` (it shows its login screen there); `None` with the minimal page.
pub fn login_page() -> Option<Response> {
    FULL_UI.then(|| serve("index.html"))
}

/// Every page response forbids framing and loading anything from elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

pub fn routes() -> Routes {
    Routes::new().get("/", index)
}

/// Every other path outside `/v1` and `/api`: the UI's files, or its client-side routes.
pub fn fallback() -> MethodRouter<AppState> {
    axum::routing::get(asset)
}

async fn index() -> Response {
    serve("index.html")
}

/// A file of the UI, or the index for unknown paths (client-side routes); `/v1` and `/api` paths that match no
/// route are 404 in OpenAI's shape, not pages.
async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("v1/") || path.starts_with("api/") {
        return crate::error::ApiError::not_found(format!("no route for /{path}")).into_response();
    }
    if Assets::get(path).is_some() { serve(path) } else { serve("index.html") }
}

fn serve(path: &str) -> Response {
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let cache = if path == "index.html" { "no-cache" } else { "public, max-age=3600" };
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    (header::CACHE_CONTROL, cache.to_owned()),
                    (header::CONTENT_SECURITY_POLICY, CSP.to_owned()),
                ],
                file.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
