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
    /// Put the code in the subject, so a phone's notification shows it.
    pub code_in_subject: bool,
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
            subject: if self.code_in_subject {
                format!("{} is your {} sign-in code", grouped(self.code.as_str()), self.site_name)
            } else {
                format!("Your {} sign-in code", self.site_name)
            },
            text,
            html,
        })
    }
}

/// "483 920": digits in groups of three, easier to read off a notification.
fn grouped(code: &str) -> String {
    let digits: Vec<char> = code.chars().collect();
    digits.chunks(3).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(code_in_subject: bool) -> Letter {
        let code = OneTimeCode::parse("483920", 6).unwrap();
        CodeMail {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            site_name: "Gatehouse",
            code: &code,
            link: "https://login.example.com/login/link?token=x",
            ttl_secs: 600,
            support_url: None,
            code_in_subject,
        }
        .letter()
        .unwrap()
    }

    #[test]
    fn the_subject_carries_the_code_in_groups_of_three_when_asked() {
        assert_eq!(letter(true).subject, "483 920 is your Gatehouse sign-in code");
        assert_eq!(letter(false).subject, "Your Gatehouse sign-in code");
    }

    #[test]
    fn both_parts_say_the_code_the_link_and_how_long() {
        let mail = letter(false);
        for part in [&mail.text, &mail.html] {
            assert!(
                part.contains("483920") && part.contains("token=x") && part.contains("10 minutes"),
                "{part}"
            );
            assert!(part.contains("never ask you for this code"), "{part}");
        }
    }

    #[test]
    fn long_codes_are_grouped_too() {
        assert_eq!(grouped("12345678"), "123 456 78");
    }
}
