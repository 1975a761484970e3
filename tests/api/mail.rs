//! A message caught by the SMTP sink, parsed with mail-parser (bodies may be
//! quoted-printable or base64), and the code and link read from its text part.

use mail_parser::{MessageParser, MimeHeaders as _, PartType};

#[derive(Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    /// `type/subtype` of the top-level part, lower-cased.
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Every header's name, lower-cased, with its raw value.
    pub headers: Vec<(String, String)>,
}

impl Mail {
    pub fn parse(raw: &[u8]) -> Mail {
        let message = MessageParser::default().parse(raw).unwrap_or_else(|| {
            panic!("the sink received something that is not a mail:\n{}", String::from_utf8_lossy(raw))
        });
        let to = message
            .to()
            .map(|to| to.iter().filter_map(|a| a.address()).map(str::to_owned).collect())
            .unwrap_or_default();
        let content_type = message
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_default()
            .to_ascii_lowercase();
        // Walk the parts themselves: body_text() would quietly turn an HTML
        // part into text and hide a missing text part.
        let mut text = None;
        let mut html = None;
        for part in &message.parts {
            match &part.body {
                PartType::Text(body) if text.is_none() => text = Some(body.to_string()),
                PartType::Html(body) if html.is_none() => html = Some(body.to_string()),
                _ => {}
            }
        }
        let headers = message
            .headers()
            .iter()
            .map(|h| {
                let raw = &raw[h.offset_start as usize..h.offset_end as usize];
                (h.name().to_ascii_lowercase(), String::from_utf8_lossy(raw).trim().to_owned())
            })
            .collect();
        Mail {
            to,
            subject: message.subject().unwrap_or_default().to_owned(),
            content_type,
            text,
            html,
            headers,
        }
    }

    /// The raw value of header `name`, if the mail has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_else(|| panic!("the mail has no text/plain part: {self:#?}"))
    }

    /// The one-time code: a line of the text part that is nothing but digits.
    pub fn code(&self) -> String {
        self.text()
            .lines()
            .map(str::trim)
            .find(|line| line.len() >= 6 && line.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no line holding only a code in the mail text:\n{}", self.text()))
            .to_owned()
    }

    /// The sign-in link, absolute, as written in the text part.
    pub fn link(&self) -> String {
        self.text()
            .split_whitespace()
            .find(|word| word.contains("/login/link?token="))
            .map(|word| word.trim_matches(|c| matches!(c, '<' | '>' | '(' | ')' | '"' | '\'')))
            .unwrap_or_else(|| panic!("no /login/link?token= link in the mail text:\n{}", self.text()))
            .to_owned()
    }

    pub fn link_token(&self) -> String {
        let link = url::Url::parse(&self.link()).expect("the mailed link is an absolute URL");
        link.query_pairs()
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value.into_owned())
            .expect("the mailed link has a token")
    }
}

/// A code that is certainly wrong: the right one with its first digit changed.
pub fn wrong_code_for(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    digits[0] = b'0' + (digits[0] - b'0' + 1) % 10;
    String::from_utf8(digits).expect("digits are ASCII")
}
