//! The code mail: the code large and easy to copy, the link, how long both
//! are valid, who asked for them, and what to do if it wasn't you. Its
//! wording names its purpose ("sign-in code", "password reset code").

use askama::Template;

use super::Letter;
use crate::domain::brand::Brand;
use crate::domain::code::OneTimeCode;
use crate::domain::email::EmailAddress;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requested;

/// What both parts of the mail say.
struct Fields<'a> {
    brand: &'a Brand,
    /// "sign-in" or "password reset", before "code".
    what: &'static str,
    code: &'a str,
    link: &'a str,
    minutes: u64,
    requested: &'a Requested,
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
    pub purpose: Purpose,
    /// Site name, logo, accent and support link.
    pub brand: &'a Brand,
    pub code: &'a OneTimeCode,
    pub link: &'a str,
    pub ttl_secs: u64,
    /// Put the code in the subject, so a phone's notification shows it.
    pub code_in_subject: bool,
    pub requested: &'a Requested,
}

impl CodeMail<'_> {
    pub fn letter(&self) -> anyhow::Result<Letter> {
        let what = match self.purpose {
            Purpose::Login => "sign-in",
            Purpose::Reset => "password reset",
        };
        let fields = Fields {
            brand: self.brand,
            what,
            code: self.code.as_str(),
            link: self.link,
            minutes: self.ttl_secs.div_ceil(60),
            requested: self.requested,
        };
        let text = CodeText { m: &fields }.render()?;
        let html = CodeHtml { m: &fields }.render()?;
        Ok(Letter {
            to: self.to.clone(),
            subject: if self.code_in_subject {
                format!("{} is your {} {what} code", grouped(self.code.as_str()), self.brand.site_name)
            } else {
                format!("Your {} {what} code", self.brand.site_name)
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
    use crate::config::Settings;
    use crate::mail::samples::{assert_both_parts_say, assert_neither_part_says, firefox_on_windows};

    fn brand_from(settings: Settings) -> Brand {
        Settings { public_url: "https://login.example.com".into(), ..settings }.check().unwrap().brand
    }

    fn letter_from(requested: &Requested, support_url: Option<&str>, code_in_subject: bool) -> Letter {
        let brand =
            brand_from(Settings { support_url: support_url.map(str::to_owned), ..Settings::default() });
        letter_with(&brand, requested, code_in_subject)
    }

    fn letter_with(brand: &Brand, requested: &Requested, code_in_subject: bool) -> Letter {
        let code = OneTimeCode::parse("483920", 6).unwrap();
        CodeMail {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            purpose: Purpose::Login,
            brand,
            code: &code,
            link: "https://login.example.com/login/link?token=x",
            ttl_secs: 600,
            code_in_subject,
            requested,
        }
        .letter()
        .unwrap()
    }

    fn letter(code_in_subject: bool) -> Letter {
        letter_from(&firefox_on_windows(), None, code_in_subject)
    }

    #[test]
    fn the_subject_carries_the_code_in_groups_of_three_when_asked() {
        assert_eq!(letter(true).subject, "483 920 is your Gatehouse sign-in code");
        assert_eq!(letter(false).subject, "Your Gatehouse sign-in code");
    }

    #[test]
    fn a_reset_code_says_it_is_for_a_password_reset() {
        let brand = brand_from(Settings::default());
        let code = OneTimeCode::parse("483920", 6).unwrap();
        let requested = firefox_on_windows();
        let mail = CodeMail {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            purpose: Purpose::Reset,
            brand: &brand,
            code: &code,
            link: "https://login.example.com/reset/link?token=x",
            ttl_secs: 600,
            code_in_subject: true,
            requested: &requested,
        }
        .letter()
        .unwrap();
        assert_eq!(mail.subject, "483 920 is your Gatehouse password reset code");
        assert_both_parts_say(&mail, &["password reset code"]);
        assert_neither_part_says(&mail, &["sign-in code"]);
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
    fn both_parts_say_who_asked_and_where_to_get_help() {
        let mail = letter_from(&firefox_on_windows(), Some("https://help.example.com"), false);
        let facts = ["Gatehouse", "Firefox on Windows 10", "203.0.113.7", "3 December 2026 at 14:03 UTC"];
        assert_both_parts_say(&mail, &facts);
        assert_both_parts_say(&mail, &["https://help.example.com", "change your password"]);
    }

    #[test]
    fn without_an_ip_or_support_link_neither_is_mentioned() {
        let requested = Requested { ip: None, ..firefox_on_windows() };
        assert_neither_part_says(&letter_from(&requested, None, false), &["IP address", "Contact support"]);
    }

    #[test]
    fn the_code_is_alone_on_its_line_in_the_text_part() {
        assert!(letter(false).text.lines().any(|line| line == "483920"));
    }

    #[test]
    fn the_html_part_hides_the_code_in_its_preheader_and_links_the_button() {
        let html = letter(false).html;
        assert!(html.contains("display:none") && html.contains("Your code is 483920"), "{html}");
        assert!(html.contains(r#"<a href="https://login.example.com/login/link?token=x""#), "{html}");
    }

    #[test]
    fn a_hostile_user_agent_is_escaped_in_the_html_part() {
        let requested = Requested { browser: "<script>alert(1)</script>".into(), ..firefox_on_windows() };
        let html = letter_from(&requested, None, false).html;
        assert!(!html.contains("<script>") && html.contains("&#60;script&#62;"), "{html}");
    }

    #[test]
    fn the_html_part_shows_the_logo_on_public_url_and_the_accent_button() {
        let brand = brand_from(Settings {
            logo_url: Some("/static/logo.svg".into()),
            accent_color: "#fde047".into(),
            ..Settings::default()
        });
        let html = letter_with(&brand, &firefox_on_windows(), false).html;
        assert!(
            html.contains(
                r#"<img src="https://login.example.com/static/logo.svg" alt="Gatehouse" height="32""#
            ),
            "{html}"
        );
        // A pale accent gets black text on the button, and darker links.
        assert!(html.contains(r##"bgcolor="#fde047" style="background:#fde047;"##), "{html}");
        assert!(html.contains("color:#000000;font-size:18px"), "{html}");
    }

    #[test]
    fn without_a_logo_the_html_part_names_the_site_in_text() {
        let html = letter(false).html;
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains(">Gatehouse</p>"), "{html}");
        assert!(
            html.contains(r##"bgcolor="#1d4ed8""##) && html.contains("color:#ffffff;font-size:18px"),
            "{html}"
        );
    }

    #[test]
    fn long_codes_are_grouped_too() {
        assert_eq!(grouped("12345678"), "123 456 78");
    }

    /// Not a test: `scripts/mail-preview` runs it to look at the mail in a browser.
    #[test]
    #[ignore = "run by scripts/mail-preview"]
    fn the_mail_is_saved_for_preview_when_asked() {
        let dir = std::path::PathBuf::from(std::env::var_os("GATEHOUSE_MAIL_PREVIEW_DIR").unwrap());
        let mail = letter_from(&firefox_on_windows(), Some("https://help.example.com"), true);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("code.html"), mail.html).unwrap();
    }
}
