//! The accent colour: parsed strictly (it is written into CSS), and the WCAG
//! contrast arithmetic that picks readable colours around it.

use std::fmt;

/// An sRGB colour written as `#rgb` or `#rrggbb`, and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour {
    r: u8,
    g: u8,
    b: u8,
}

pub const WHITE: Colour = Colour { r: 0xff, g: 0xff, b: 0xff };
/// Pure black: with any accent, either white or black reaches 4.58:1, while
/// a softer near-black such as #111827 drops to 4.1:1 for mid-tones.
pub const BLACK: Colour = Colour { r: 0, g: 0, b: 0 };

/// WCAG 2 AA for normal text.
pub const READABLE: f64 = 4.5;

impl Colour {
    pub const fn from_rgb(r: u8, g: u8, b: u8) -> Colour {
        Colour { r, g, b }
    }

    /// Only hex digits after one `#`: anything else could end the CSS
    /// declaration it is written into.
    pub fn parse(raw: &str) -> Option<Colour> {
        let hex = raw.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
        let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        match hex.len() {
            3 => Some(Colour { r: digit(0)? * 17, g: digit(1)? * 17, b: digit(2)? * 17 }),
            6 => Some(Colour { r: pair(0)?, g: pair(2)?, b: pair(4)? }),
            _ => None,
        }
    }

    /// WCAG 2 relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }

    /// WCAG 2 contrast ratio, 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// The text colour for a button filled with `self`: white or black,
    /// whichever contrasts more.
    pub fn on(self) -> Colour {
        if self.contrast(WHITE) >= self.contrast(BLACK) { WHITE } else { BLACK }
    }

    /// `self` moved towards `target` (black to darken, white to lighten) in
    /// small steps until it reads on every one of `surfaces`; at worst it
    /// becomes `target`.
    pub fn readable_on(self, surfaces: &[Colour], target: Colour) -> Colour {
        (0..=20)
            .map(|step| self.mix(target, f64::from(step) / 20.0))
            .find(|c| surfaces.iter().all(|s| c.contrast(*s) >= READABLE))
            .unwrap_or(target)
    }

    fn mix(self, other: Colour, share: f64) -> Colour {
        let blend = |a: u8, b: u8| (f64::from(a) * (1.0 - share) + f64::from(b) * share).round() as u8;
        Colour { r: blend(self.r, other.r), g: blend(self.g, other.g), b: blend(self.b, other.b) }
    }
}

/// Always `#rrggbb`, the one form every mail client and browser reads.
impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_hex_colours_are_accepted() {
        assert_eq!(Colour::parse("#1d4ed8").unwrap().to_string(), "#1d4ed8");
        assert_eq!(Colour::parse("#1D4ED8").unwrap().to_string(), "#1d4ed8");
        assert_eq!(Colour::parse("#f80").unwrap().to_string(), "#ff8800");
    }

    #[test]
    fn anything_but_a_hex_colour_is_refused() {
        for bad in [
            "red",
            "red; } body{display:none",
            "#12345",
            "#1234567",
            "#12345g",
            "url(https://evil.example/x.png)",
            "1d4ed8",
            "#1d4ed8;",
            "#1d4ed8 ",
            "#",
            "",
            "#+1+2+3",
            "#１２３",
        ] {
            assert_eq!(Colour::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contrast_matches_the_wcag_reference_values() {
        assert!((WHITE.contrast(BLACK) - 21.0).abs() < 1e-9);
        assert!((WHITE.contrast(WHITE) - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = Colour::parse("#767676").unwrap();
        assert!((grey.contrast(WHITE) - 4.54).abs() < 0.01);
    }

    #[test]
    fn dark_accents_get_white_text_and_light_accents_black_text() {
        assert_eq!(Colour::parse("#1d4ed8").unwrap().on(), WHITE);
        assert_eq!(Colour::parse("#7c2d12").unwrap().on(), WHITE);
        assert_eq!(Colour::parse("#fde047").unwrap().on(), BLACK);
        assert_eq!(Colour::parse("#60a5fa").unwrap().on(), BLACK);
    }

    #[test]
    fn every_accent_gets_button_text_of_at_least_4_5_to_1() {
        for r in 0..16u8 {
            for g in 0..16u8 {
                for b in 0..16u8 {
                    let accent = Colour { r: r * 17, g: g * 17, b: b * 17 };
                    assert!(accent.contrast(accent.on()) >= READABLE, "{accent}");
                }
            }
        }
    }

    #[test]
    fn a_pale_accent_is_darkened_until_it_reads_on_white() {
        let pale = Colour::parse("#fde047").unwrap();
        let link = pale.readable_on(&[WHITE], BLACK);
        assert!(link.contrast(WHITE) >= READABLE, "{link}");
        assert_ne!(link, BLACK, "darkened only as far as needed");
        let already = Colour::parse("#1d4ed8").unwrap();
        assert_eq!(already.readable_on(&[WHITE], BLACK), already);
    }
}
