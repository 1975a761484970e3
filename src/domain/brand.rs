//! The operator's branding — name, logo, accent colour, support link and
//! optional custom CSS — worked out once at start-up and shared by every
//! page and every mail.

use url::Url;

use super::colour::{BLACK, Colour, WHITE};
use super::host::{is_https_or_loopback, is_plain_host, on_origin};

/// Surfaces accent-coloured text sits on, in gatehouse.css and the mails:
/// the page background and card, light and dark.
const LIGHT_SURFACES: [Colour; 3] = [WHITE, rgb(0xf4, 0xf5, 0xf7), rgb(0xf3, 0xf4, 0xf6)];
const DARK_SURFACES: [Colour; 3] = [rgb(0x0d, 0x11, 0x17), rgb(0x16, 0x1b, 0x22), rgb(0x1f, 0x29, 0x37)];

const fn rgb(r: u8, g: u8, b: u8) -> Colour {
    Colour::from_rgb(r, g, b)
}

/// Where the logo comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logo {
    /// A path on this origin, such as `/static/logo.svg` behind the same proxy.
    Path(String),
    /// Another origin (a CDN): https, or http on a loopback host.
    Url(Url),
}

impl Logo {
    pub fn parse(raw: &str) -> Result<Logo, &'static str> {
        if raw.starts_with('/') {
            // `//host/x` and `/\host/x` are other origins to a browser.
            let odd = |c: char| c == '\\' || c.is_whitespace() || c.is_control();
            if raw.starts_with("//") || raw.chars().any(odd) {
                return Err("must be a path such as /logo.svg or an https URL");
            }
            return Ok(Logo::Path(raw.to_owned()));
        }
        let url = Url::parse(raw).map_err(|_| "must be a path such as /logo.svg or an https URL")?;
        if !is_https_or_loopback(&url) || url.host_str().is_none() {
            return Err("must use https (plain http only for a loopback host)");
        }
        // Its origin goes into the CSP's `img-src`.
        if !is_plain_host(&url) {
            return Err("must name its host plainly (letters, digits, hyphens, or an IP address)");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password");
        }
        Ok(Logo::Url(url))
    }

    /// The origin the CSP must allow images from, when it is not our own.
    pub fn foreign_origin(&self) -> Option<String> {
        match self {
            Logo::Path(_) => None,
            Logo::Url(url) => Some(url.origin().ascii_serialization()),
        }
    }

    /// For pages: a path stays relative to this origin.
    pub fn page_src(&self) -> String {
        match self {
            Logo::Path(path) => path.clone(),
            Logo::Url(url) => url.to_string(),
        }
    }

    /// For mail, which has no origin: always absolute, from `public_url`.
    pub fn mail_src(&self, public_origin: &Url) -> String {
        match self {
            Logo::Path(path) => on_origin(public_origin, path),
            Logo::Url(url) => url.to_string(),
        }
    }
}

/// Accent colours that stay readable in light and dark mode.
#[derive(Clone, Debug)]
pub struct Palette {
    /// Buttons in light mode, and the text on them.
    pub accent: Colour,
    pub on_accent: Colour,
    /// Links and focus rings in light mode: the accent, darkened if needed.
    pub link: Colour,
    /// Buttons, links and focus rings in dark mode: the accent, lightened if
    /// needed, and the text on its buttons.
    pub dark_accent: Colour,
    pub on_dark_accent: Colour,
}

impl Palette {
    pub fn new(accent: Colour) -> Self {
        let dark_accent = accent.readable_on(&DARK_SURFACES, WHITE);
        Palette {
            accent,
            on_accent: accent.on(),
            link: accent.readable_on(&LIGHT_SURFACES, BLACK),
            dark_accent,
            on_dark_accent: dark_accent.on(),
        }
    }

    /// The variables gatehouse.css reads, for both colour schemes.
    fn css_variables(&self) -> String {
        format!(
            ":root{{--accent:{};--on-accent:{};--link:{}}}\n\
             @media (prefers-color-scheme: dark){{:root{{--accent:{};--on-accent:{};--link:{}}}}}\n",
            self.accent, self.on_accent, self.link, self.dark_accent, self.on_dark_accent, self.dark_accent
        )
    }
}

/// Everything the layouts of pages and mails show of the operator's brand.
#[derive(Clone, Debug)]
pub struct Brand {
    pub site_name: String,
    pub support_url: Option<String>,
    pub logo: Option<Logo>,
    /// The logo as mails show it: an absolute URL.
    pub mail_logo: Option<String>,
    pub palette: Palette,
    /// `/static/site.css`: the palette, then the operator's custom CSS.
    pub stylesheet: String,
}

impl Brand {
    /// The brand from its checked parts; `custom_css` is the operator's
    /// stylesheet, served after the palette.
    pub fn new(
        site_name: String,
        support_url: Option<String>,
        logo: Option<Logo>,
        accent: Colour,
        custom_css: Option<&str>,
        public_origin: &Url,
    ) -> Self {
        let palette = Palette::new(accent);
        let mut stylesheet = palette.css_variables();
        stylesheet.push_str(custom_css.unwrap_or_default());
        Brand {
            site_name,
            support_url,
            mail_logo: logo.as_ref().map(|l| l.mail_src(public_origin)),
            logo,
            palette,
            stylesheet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::colour::READABLE;

    #[test]
    fn a_logo_may_be_a_path_here_or_an_https_url() {
        assert_eq!(Logo::parse("/static/logo.svg"), Ok(Logo::Path("/static/logo.svg".into())));
        let cdn = Logo::parse("https://cdn.example.com:8443/brand/logo.png").unwrap();
        assert_eq!(cdn.foreign_origin().as_deref(), Some("https://cdn.example.com:8443"));
        assert!(Logo::parse("http://127.0.0.1:9000/logo.png").is_ok());
        assert!(Logo::parse("http://localhost/logo.png").is_ok());
    }

    #[test]
    fn a_logo_elsewhere_over_plain_http_or_in_disguise_is_refused() {
        for bad in [
            "http://cdn.example.com/logo.png",
            "//cdn.example.com/logo.png",
            "/\\cdn.example.com/logo.png",
            "javascript:alert(1)",
            "data:image/svg+xml,<svg/>",
            "https://user:pw@cdn.example.com/logo.png",
            "logo.png",
            "/logo.png\" onerror=\"x",
            "https://*/logo.png",
            "https://cdn.example.com;script-src/logo.png",
        ] {
            assert!(Logo::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mails_get_a_path_logo_as_an_absolute_url_on_public_url() {
        let origin = Url::parse("https://login.example.com").unwrap();
        assert_eq!(
            Logo::Path("/static/logo.svg".into()).mail_src(&origin),
            "https://login.example.com/static/logo.svg"
        );
    }

    #[test]
    fn every_palette_colour_reads_on_its_surfaces() {
        for raw in ["#1d4ed8", "#fde047", "#ffffff", "#000000", "#777", "#0a3d2a"] {
            let p = Palette::new(Colour::parse(raw).unwrap());
            assert!(p.accent.contrast(p.on_accent) >= READABLE, "{raw}");
            assert!(p.dark_accent.contrast(p.on_dark_accent) >= READABLE, "{raw}");
            assert!(LIGHT_SURFACES.iter().all(|s| p.link.contrast(*s) >= READABLE), "{raw}");
            assert!(DARK_SURFACES.iter().all(|s| p.dark_accent.contrast(*s) >= READABLE), "{raw}");
        }
    }

    #[test]
    fn the_site_stylesheet_holds_the_palette_then_the_custom_css() {
        let origin = Url::parse("https://login.example.com").unwrap();
        let css = "header.site { border-bottom: 2px solid var(--accent); }";
        let accent = Colour::parse("#0a3d2a").unwrap();
        let sheet = Brand::new("Gatehouse".into(), None, None, accent, Some(css), &origin).stylesheet;
        assert!(sheet.starts_with(":root{--accent:#0a3d2a;--on-accent:#ffffff;"), "{sheet}");
        assert!(sheet.ends_with(css), "{sheet}");
    }
}
