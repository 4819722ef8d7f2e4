//! Jan's API under `/v1` (the routes of Jan's desktop API server, `jan-formats.md`): models (list, get, delete,
//! download from the catalog, start / stop, upload), threads and their messages, assistants. Each handler maps
//! one route onto one core call; errors are the core's, mapped by `ApiError`.

mod assistants;
mod models;
mod threads;

pub use models::UPLOAD_PATH;

use crate::routes::registry::Routes;

pub fn routes() -> Routes {
    models::routes().merge(threads::routes()).merge(assistants::routes())
}
