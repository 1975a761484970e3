//! Security notices to an account's owner: a new sign-in, a day's budget
//! of wrong codes spent, and a sign-in refused from the mail.

use askama::Template;

use super::Letter;
use crate::domain::brand::Brand;
use crate::domain::email::EmailAddress;
use crate::domain::requester::Requested;

/// What both parts of the "budget spent" notice say.
struct BudgetSpent<'a> {
    brand: &'a Brand,
    budget: u32,
}

#[derive(Template)]
#[template(path = "mail/budget_spent.txt")]
struct BudgetSpentText<'a> {
    m: &'a BudgetSpent<'a>,
}

#[derive(Template)]
#[template(path = "mail/budget_spent.html")]
struct BudgetSpentHtml<'a> {
    m: &'a BudgetSpent<'a>,
}

/// "Someone has your password": the day's `budget` of wrong codes was spent.
pub fn budget_spent(brand: &Brand, budget: u32, to: EmailAddress) -> anyhow::Result<Letter> {
    let fields = BudgetSpent { brand, budget };
    Ok(Letter {
        to,
        subject: format!("Someone is trying to sign in to your {} account", brand.site_name),
        text: BudgetSpentText { m: &fields }.render()?,
        html: BudgetSpentHtml { m: &fields }.render()?,
    })
}

/// What both parts of the "new sign-in" notice say.
struct NewSignIn<'a> {
    brand: &'a Brand,
    requested: &'a Requested,
}

#[derive(Template)]
#[template(path = "mail/new_sign_in.txt")]
struct NewSignInText<'a> {
    m: &'a NewSignIn<'a>,
}

#[derive(Template)]
#[template(path = "mail/new_sign_in.html")]
struct NewSignInHtml<'a> {
    m: &'a NewSignIn<'a>,
}

/// Tells the owner where and when their account was just signed in to, so
/// a sign-in that was not theirs does not go unnoticed.
pub fn new_sign_in(brand: &Brand, to: EmailAddress, requested: &Requested) -> anyhow::Result<Letter> {
    let fields = NewSignIn { brand, requested };
    Ok(Letter {
        to,
        subject: format!("New sign-in to your {} account", brand.site_name),
        text: NewSignInText { m: &fields }.render()?,
        html: NewSignInHtml { m: &fields }.render()?,
    })
}

/// What both parts of the "sign-in refused" notice say: who started the
/// sign-in that was refused.
#[derive(Template)]
#[template(path = "mail/sign_in_refused.txt")]
struct SignInRefusedText<'a> {
    m: &'a NewSignIn<'a>,
}

#[derive(Template)]
#[template(path = "mail/sign_in_refused.html")]
struct SignInRefusedHtml<'a> {
    m: &'a NewSignIn<'a>,
}

/// A sign-in started as `requested` was refused from the mail (a wrong
/// number or "This wasn't me"): whoever started it knows the password.
pub fn sign_in_refused(brand: &Brand, to: EmailAddress, requested: &Requested) -> anyhow::Result<Letter> {
    let fields = NewSignIn { brand, requested };
    Ok(Letter {
        to,
        subject: format!("A sign-in to your {} account was refused", brand.site_name),
        text: SignInRefusedText { m: &fields }.render()?,
        html: SignInRefusedHtml { m: &fields }.render()?,
    })
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::config::Settings;
    use crate::mail::samples::{assert_both_parts_say, assert_neither_part_says, firefox_on_windows};

    fn brand(support_url: Option<&str>) -> Brand {
        brand_with(Settings { support_url: support_url.map(str::to_owned), ..Settings::default() })
    }

    fn brand_with(settings: Settings) -> Brand {
        Settings { site_name: "Gatehouse".into(), ..settings }.check().unwrap().brand
    }

    fn ann() -> EmailAddress {
        EmailAddress::parse("ann@example.com").unwrap()
    }

    #[test]
    fn a_new_sign_in_says_where_and_when_in_both_parts() {
        let mail =
            new_sign_in(&brand(Some("https://help.example.com")), ann(), &firefox_on_windows()).unwrap();
        assert_eq!(mail.subject, "New sign-in to your Gatehouse account");
        let facts = ["Firefox on Windows 10", "203.0.113.7", "3 December 2026 at 14:03 UTC"];
        assert_both_parts_say(&mail, &facts);
        assert_both_parts_say(&mail, &["https://help.example.com", "Change your password"]);
    }

    #[test]
    fn a_new_sign_in_without_an_ip_or_support_link_leaves_both_out() {
        let requested = Requested { ip: None, ..firefox_on_windows() };
        let mail = new_sign_in(&brand(None), ann(), &requested).unwrap();
        assert_neither_part_says(&mail, &["IP address", "Contact support"]);
        assert_both_parts_say(&mail, &[]);
    }

    #[test]
    fn a_hostile_user_agent_is_escaped_in_the_html_part() {
        let requested = Requested { browser: "<script>alert(1)</script>".into(), ..firefox_on_windows() };
        let mail = new_sign_in(&brand(None), ann(), &requested).unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&#60;script&#62;"), "{}", mail.html);
    }

    #[test]
    fn both_notices_show_the_logo_and_colour_their_links_with_the_accent() {
        let brand = brand_with(Settings {
            support_url: Some("https://help.example.com".into()),
            logo_url: Some("https://cdn.example.com/logo.png".into()),
            accent_color: "#0a3d2a".into(),
            ..Settings::default()
        });
        let notices = [
            new_sign_in(&brand, ann(), &firefox_on_windows()).unwrap(),
            budget_spent(&brand, 50, ann()).unwrap(),
        ];
        for mail in notices {
            let html = &mail.html;
            assert!(
                html.contains(r#"<img src="https://cdn.example.com/logo.png" alt="Gatehouse""#),
                "{html}"
            );
            assert!(html.contains(r#"href="https://help.example.com" style="color:#0a3d2a;""#), "{html}");
            assert!(mail.text.contains("Gatehouse") && mail.text.contains("https://help.example.com"));
        }
    }

    #[test]
    fn a_refused_sign_in_says_who_started_it_and_to_change_the_password_in_both_parts() {
        let mail =
            sign_in_refused(&brand(Some("https://help.example.com")), ann(), &firefox_on_windows()).unwrap();
        assert_eq!(mail.subject, "A sign-in to your Gatehouse account was refused");
        let facts =
            ["Firefox on Windows 10", "203.0.113.7", "3 December 2026 at 14:03 UTC", "typed your password"];
        assert_both_parts_say(&mail, &facts);
        assert_both_parts_say(&mail, &["hange your password", "https://help.example.com"]);
    }

    #[test]
    fn a_spent_budget_says_how_many_codes_and_what_to_do_in_both_parts() {
        let mail = budget_spent(&brand(Some("https://help.example.com")), 50, ann()).unwrap();
        assert_eq!(mail.subject, "Someone is trying to sign in to your Gatehouse account");
        assert_both_parts_say(&mail, &["50 wrong sign-in codes", "change your", "https://help.example.com"]);
    }

    /// Not a test: `scripts/mail-preview` runs it to look at the mails in a browser.
    #[test]
    #[ignore = "run by scripts/mail-preview"]
    fn the_notices_are_saved_for_preview_when_asked() {
        let dir = std::path::PathBuf::from(std::env::var_os("GATEHOUSE_MAIL_PREVIEW_DIR").unwrap());
        let brand = brand(Some("https://help.example.com"));
        std::fs::create_dir_all(&dir).unwrap();
        let sign_in = new_sign_in(&brand, ann(), &firefox_on_windows()).unwrap();
        std::fs::write(dir.join("new_sign_in.html"), sign_in.html).unwrap();
        std::fs::write(dir.join("budget_spent.html"), budget_spent(&brand, 50, ann()).unwrap().html).unwrap();
    }
}
