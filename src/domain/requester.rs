//! Who is asking: the client IP and user agent of a request, as the audit
//! log records them and as mails describe them ("Firefox on Windows 10,
//! 203.0.113.7, 3 December 2026 at 14:03 UTC") so that their reader can
//! tell whether it was them.

use std::net::IpAddr;

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

const UNKNOWN_BROWSER: &str = "an unknown browser";
/// The user agent is chosen by whoever sent the request, so its description
/// is kept short enough that it cannot crowd out the rest of the mail.
const MAX_DESCRIPTION_CHARS: usize = 80;

/// The client of a request: its IP (behind trusted proxies, the client's)
/// and its user agent, without control characters and cut to 256 characters.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Requester {
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect());
        Self { ip, user_agent }
    }

    /// Who asked, as a mail tells its reader, at `at`.
    pub fn requested(&self, at: OffsetDateTime) -> Requested {
        Requested::new(self.user_agent.as_deref(), self.ip, at)
    }
}

/// Who asked for a mail, shown in it so its reader can tell whether it was them.
pub struct Requested {
    pub browser: String,
    pub ip: Option<String>,
    pub at: OffsetDateTime,
}

impl Requested {
    pub fn new(user_agent: Option<&str>, ip: Option<IpAddr>, at: OffsetDateTime) -> Self {
        Self {
            browser: describe_user_agent(user_agent.unwrap_or_default()),
            ip: ip.map(|ip| ip.to_string()),
            at,
        }
    }

    /// "3 December 2026 at 14:03 UTC": readers live in every time zone, so
    /// the mail names the one it uses.
    pub fn at_utc(&self) -> String {
        let utc = self.at.to_offset(UtcOffset::UTC);
        let format =
            format_description!("[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC");
        // Only a year past 9999 fails to format; show it unformatted rather than not at all.
        utc.format(&format).unwrap_or_else(|_| format!("{utc}"))
    }
}

/// "Firefox on Windows 10", "Safari on iPhone", "a program, not a web
/// browser (HTTP Library)", or "an unknown browser".
pub fn describe_user_agent(user_agent: &str) -> String {
    let Some(parsed) = woothee::parser::Parser::new().parse(user_agent) else {
        return UNKNOWN_BROWSER.into();
    };
    let known = |value: &str| value != woothee::woothee::VALUE_UNKNOWN && !value.trim().is_empty();
    // curl, scripts and crawlers: a reader who only ever uses a browser should see it was not one.
    if parsed.category == "crawler" || parsed.name == "HTTP Library" {
        return bounded_plain_text(&format!("a program, not a web browser ({})", parsed.name));
    }
    let description = match (known(parsed.name), known(parsed.os)) {
        (true, true) => format!("{} on {}", parsed.name, parsed.os),
        (true, false) => parsed.name.to_owned(),
        (false, true) => format!("{UNKNOWN_BROWSER} on {}", parsed.os),
        (false, false) => return UNKNOWN_BROWSER.into(),
    };
    bounded_plain_text(&description)
}

/// Control characters dropped, runs of white space made one space, and at
/// most `MAX_DESCRIPTION_CHARS` characters.
fn bounded_plain_text(raw: &str) -> String {
    let printable: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= MAX_DESCRIPTION_CHARS {
        return words;
    }
    let mut cut: String = words.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const FIREFOX_WINDOWS: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
         (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
         AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const EDGE_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
         (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87";

    #[test]
    fn common_browsers_are_named_with_their_system() {
        assert_eq!(describe_user_agent(FIREFOX_WINDOWS), "Firefox on Windows 10");
        assert_eq!(describe_user_agent(CHROME_ANDROID), "Chrome on Android");
        assert_eq!(describe_user_agent(SAFARI_IPHONE), "Safari on iPhone");
        assert_eq!(describe_user_agent(EDGE_MAC), "Edge on Mac OSX");
    }

    #[test]
    fn a_command_line_client_is_said_not_to_be_a_browser() {
        assert_eq!(describe_user_agent("curl/8.5.0"), "a program, not a web browser (HTTP Library)");
    }

    #[test]
    fn a_missing_or_empty_user_agent_is_an_unknown_browser() {
        assert_eq!(describe_user_agent(""), "an unknown browser");
        assert_eq!(Requested::new(None, None, OffsetDateTime::UNIX_EPOCH).browser, "an unknown browser");
    }

    #[test]
    fn junk_with_control_characters_says_nothing_it_was_sent() {
        let junk = format!("\u{1b}[31m<script>alert(1)</script>\r\nBcc: x@example.com {}", "A".repeat(500));
        let described = describe_user_agent(&junk);
        assert!(!described.chars().any(char::is_control), "{described:?}");
        assert!(described.chars().count() <= MAX_DESCRIPTION_CHARS, "{described:?}");
        assert!(!described.contains("Bcc"), "{described:?}");
    }

    #[test]
    fn long_descriptions_are_cut_without_control_characters() {
        let cut = bounded_plain_text(&format!("a\r\n\tb {}", "x".repeat(200)));
        assert!(cut.starts_with("a b x"));
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_time_is_said_in_utc_whatever_offset_it_came_with() {
        let requested = Requested::new(None, None, datetime!(2026-12-03 15:03 +01:00));
        assert_eq!(requested.at_utc(), "3 December 2026 at 14:03 UTC");
    }

    #[test]
    fn the_ip_address_is_kept_as_text() {
        let ip = "2001:db8::7".parse().ok();
        let requested = Requested::new(Some(FIREFOX_WINDOWS), ip, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(requested.ip.as_deref(), Some("2001:db8::7"));
        assert_eq!(requested.browser, "Firefox on Windows 10");
    }
}
