//! The sign-in code mail: the code large and easy to copy, the link, how
//! long both are valid, and what to do if it wasn't you.

use askama::Template;

use super::Letter;
use crate::auth::code::OneTimeCode;
use crate::auth::email::EmailAddress;

/// What both parts of the mail say.
struct Fields<'a> {
    site_name: &'a str,
    code: &'a str,
    link: &'a str,
    minutes: u64,
    support_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/code.txt")]
struct CodeText<'a> {
    m: &'a Fields<'a>,
}

#[derive(Template)]
#[template(path = "mail/code.html")]
struct CodeHtml<'a> {
    m: &'a Fields<'a>,
}

pub struct CodeMail<'a> {
    pub to: EmailAddress,
    pub site_name: &'a str,
    pub code: &'a OneTimeCode,
    pub link: &'a str,
    pub ttl_secs: u64,
    pub support_url: Option<&'a str>,
}

impl CodeMail<'_> {
    pub fn letter(&self) -> anyhow::Result<Letter> {
        let fields = Fields {
            site_name: self.site_name,
            code: self.code.as_str(),
            link: self.link,
            minutes: self.ttl_secs.div_ceil(60),
            support_url: self.support_url,
        };
        let text = CodeText { m: &fields }.render()?;
        let html = CodeHtml { m: &fields }.render()?;
        Ok(Letter {
            to: self.to.clone(),
            subject: format!("Your {} sign-in code", self.site_name),
            text,
            html,
        })
    }
}
