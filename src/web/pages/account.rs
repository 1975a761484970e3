//! The account page (`/`): only for a fully signed-in user.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;

use super::{PageContext, page_template, render};
use crate::web::problem::PageResult;
use crate::web::signed_in::SignedInUser;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageContext,
    email: String,
    name: Option<String>,
}
page_template!(AccountPage);

pub async fn show(req: HttpRequest, state: web::Data<AppState>, user: SignedInUser) -> PageResult {
    let page = PageContext::new(&req, &state);
    let name = user.name().map(str::to_owned);
    render(StatusCode::OK, &AccountPage { page, email: user.email().to_owned(), name })
}
