//! The pages, one module each, and what they share: the site context and
//! the one function that turns a template into a response (status, CSRF
//! cookie, no caching).

pub mod account;
pub mod code;
pub mod error;
pub mod link;
pub mod login;
pub mod logout;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::csrf;
use super::problem::AppError;
use super::state::AppState;
use super::urls::Urls;
use crate::domain::brand::Logo;

/// The base layout's data: site name, logo, support link, this browser's
/// CSRF token, and where the portal's pages are.
pub struct PageContext {
    pub site_name: String,
    pub support_url: Option<String>,
    /// The header shows the logo instead of the name, with the name as its `alt`.
    pub logo_url: Option<String>,
    pub csrf: String,
    pub notice: Option<&'static str>,
    /// The portal's paths, for links and form actions.
    pub urls: Arc<Urls>,
    new_csrf_cookie: Option<actix_web::cookie::Cookie<'static>>,
}

impl PageContext {
    pub fn new(req: &HttpRequest, state: &AppState) -> Self {
        let (csrf, new_csrf_cookie) = csrf::token_for(req, state);
        Self {
            site_name: state.brand.site_name.clone(),
            support_url: state.brand.support_url.clone(),
            logo_url: state.brand.logo.as_ref().map(Logo::page_src),
            csrf,
            notice: None,
            urls: state.urls.clone(),
            new_csrf_cookie,
        }
    }

    pub fn from_request(req: &HttpRequest) -> Result<Self, AppError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| anyhow::anyhow!("application state missing"))?;
        Ok(Self::new(req, state))
    }
}

/// Renders `page` with `status`; every page goes out through here.
pub fn render(status: StatusCode, page: &impl PageTemplate) -> Result<HttpResponse, AppError> {
    let body = page.render().map_err(|e| anyhow::anyhow!("rendering a page: {e}"))?;
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    if let Some(cookie) = page.context().new_csrf_cookie.clone() {
        response.cookie(cookie);
    }
    Ok(response.body(body))
}

/// A page template that carries a `PageContext`.
pub trait PageTemplate: Template {
    fn context(&self) -> &PageContext;
}

/// Implements `PageTemplate` for template structs with a `page` field.
macro_rules! page_template {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::web::pages::PageTemplate for $ty {
            fn context(&self) -> &$crate::web::pages::PageContext {
                &self.page
            }
        })*
    };
}
pub(crate) use page_template;
