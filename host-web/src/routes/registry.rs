//! [`Routes`]: the router of a module, built one method and path at a time so that it knows what it serves. The
//! OpenAPI table (`openapi::OPERATIONS`) is held against that list by a test: a route cannot be added without
//! being documented, or documented without being served.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{self, MethodRouter};

use crate::state::AppState;

/// A router and the `(method, path)` of every route it serves (methods lowercase, as in OpenAPI).
#[derive(Debug)]
pub struct Routes {
    router: Router<AppState>,
    served: Vec<(&'static str, &'static str)>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

macro_rules! method {
    ($name:ident) => {
        pub fn $name<H, T>(self, path: &'static str, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.route(stringify!($name), path, routing::$name(handler))
        }
    };
}

impl Routes {
    pub fn new() -> Self {
        Routes { router: Router::new(), served: Vec::new() }
    }

    method!(get);
    method!(post);
    method!(put);
    method!(patch);
    method!(delete);

    /// A route whose method router is built by hand (one that also has a fallback); `method` is the one it
    /// documents.
    pub fn route(mut self, method: &'static str, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, route);
        self.served.push((method, path));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }

    /// What this router serves.
    pub fn served(&self) -> &[(&'static str, &'static str)] {
        &self.served
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
