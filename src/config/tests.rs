//! The settings: loading, and every refusal naming its key.

use super::*;

#[test]
fn access_rules_come_from_the_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(
        &file,
        "[[access_rules]]\nhost = \"wiki.example.com\"\nallow = [\"alice@example.com\", \"example.org\"]\n",
    )
    .unwrap();
    let settings = Settings::load(Some(&file)).unwrap();
    settings.check().unwrap();
    assert_eq!(settings.access_rules.len(), 1);
    assert_eq!(settings.access_rules[0].host, "wiki.example.com");
    assert_eq!(settings.access_rules[0].allow, ["alice@example.com", "example.org"]);

    std::fs::write(&file, "[[access_rules]]\nhost = \"wiki.example.com/x\"\nallow = []\n").unwrap();
    let Err(error) = Settings::load(Some(&file)).unwrap().check() else { panic!("a bad host is refused") };
    assert!(error.to_string().contains("access_rules"), "{error}");
}

#[test]
fn every_out_of_range_value_is_refused_naming_its_key() {
    type Spoil = fn(&mut Settings);
    let cases: [(&str, Spoil); 16] = [
        ("database_url", |s| s.database_url = "mysql://x".into()),
        ("bind", |s| s.bind = "localhost".into()),
        ("otp_ttl_secs", |s| s.otp_ttl_secs = 3601),
        ("otp_max_attempts", |s| s.otp_max_attempts = 11),
        ("argon2_parallelism", |s| s.argon2_parallelism = 0),
        ("session_idle_timeout_secs", |s| s.session_idle_timeout_secs = 0),
        ("session_absolute_timeout_secs", |s| s.session_absolute_timeout_secs = 31 * 86_400),
        ("code_failure_budget", |s| s.code_failure_budget = 51),
        ("password_max_consecutive_failures", |s| s.password_max_consecutive_failures = 101),
        ("mail_max_attempts", |s| s.mail_max_attempts = 0),
        ("mail_retry_delay_secs", |s| s.mail_retry_delay_secs = 601),
        ("smtp_ca_file", |s| s.smtp_ca_file = Some("/no/such/ca.pem".into())),
        ("site_name", |s| s.site_name = "  ".into()),
        ("trusted_proxies", |s| s.trusted_proxies = vec!["10.0.0.0/33".into()]),
        ("allowed_return_hosts", |s| s.allowed_return_hosts = vec!["https://x.example".into()]),
        ("support_url", |s| s.support_url = Some("javascript:alert(1)".into())),
    ];
    for (key, spoil) in cases {
        let mut settings = Settings::default();
        spoil(&mut settings);
        let refused = settings.check().err().unwrap_or_else(|| panic!("{key} was accepted"));
        assert!(refused.to_string().contains(&format!("`{key}`")), "{key}: {refused}");
    }
}

#[test]
fn list_keys_in_the_environment_are_split_at_commas() {
    let env = config::Map::from([
        ("GATEHOUSE_FRAME_ANCESTORS".into(), "https://a.example.com,https://b.example.com".into()),
        ("GATEHOUSE_TRUSTED_PROXIES".into(), "127.0.0.1/32,10.0.0.0/8".into()),
        ("GATEHOUSE_ALLOWED_RETURN_HOSTS".into(), "app.example.com".into()),
        ("GATEHOUSE_OTP_LENGTH".into(), "8".into()),
    ]);
    let settings = Settings::load_with(None, Some(env)).unwrap();
    assert_eq!(settings.frame_ancestors, ["https://a.example.com", "https://b.example.com"]);
    assert_eq!(settings.trusted_proxies, ["127.0.0.1/32", "10.0.0.0/8"]);
    assert_eq!(settings.allowed_return_hosts, ["app.example.com"]);
    assert_eq!(settings.otp_length, 8);
}

#[test]
fn defaults_are_valid() {
    Settings::default().check().unwrap();
}

#[test]
fn a_bad_value_names_its_key() {
    let settings = Settings { otp_length: 4, ..Settings::default() };
    let err = refusal(settings);
    assert!(err.contains("otp_length"), "{err}");
}

#[test]
fn weak_argon2_parameters_are_refused() {
    let settings = Settings { argon2_memory_kib: 1024, ..Settings::default() };
    assert!(refusal(settings).contains("argon2_memory_kib"));
}

fn refusal(settings: Settings) -> String {
    settings.check().err().expect("the settings are refused").to_string()
}

#[test]
fn the_site_stylesheet_holds_the_accent_then_the_custom_css() {
    let dir = tempfile::tempdir().unwrap();
    let css = dir.path().join("custom.css");
    std::fs::write(&css, "header.site { border-bottom: 2px solid var(--accent); }").unwrap();
    let settings =
        Settings { accent_color: "#0a3d2a".into(), custom_css_file: Some(css), ..Settings::default() };
    let sheet = settings.check().unwrap().brand.stylesheet;
    assert!(sheet.starts_with(":root{--accent:#0a3d2a;--on-accent:#ffffff;"), "{sheet}");
    assert!(sheet.ends_with("header.site { border-bottom: 2px solid var(--accent); }"), "{sheet}");
}

#[test]
fn a_custom_css_file_over_the_cap_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let css = dir.path().join("huge.css");
    std::fs::write(&css, "a{}".repeat(30_000)).unwrap();
    let err = refusal(Settings { custom_css_file: Some(css), ..Settings::default() });
    assert!(err.contains("custom_css_file") && err.contains("64 KiB"), "{err}");
}

#[test]
fn an_accent_that_is_not_a_hex_colour_is_refused() {
    for bad in ["red; } body{display:none", "#12345", "url(https://evil.example/x.png)", "red", ""] {
        let err = refusal(Settings { accent_color: bad.into(), ..Settings::default() });
        assert!(err.contains("accent_color"), "{bad:?}: {err}");
    }
    Settings { accent_color: "#0a5".into(), ..Settings::default() }.check().unwrap();
}

#[test]
fn a_logo_over_plain_http_to_a_public_host_is_refused() {
    let err =
        refusal(Settings { logo_url: Some("http://cdn.example.com/logo.png".into()), ..Settings::default() });
    assert!(err.contains("logo_url"), "{err}");
    for good in ["https://cdn.example.com/logo.png", "/static/logo.svg", "http://127.0.0.1:9000/logo.png"] {
        Settings { logo_url: Some(good.into()), ..Settings::default() }.check().unwrap();
    }
}

#[test]
fn a_missing_custom_css_file_is_refused_naming_the_key() {
    let missing = std::env::temp_dir().join("gatehouse-no-such-dir/custom.css");
    let err = refusal(Settings { custom_css_file: Some(missing), ..Settings::default() });
    assert!(err.contains("custom_css_file") && err.contains("custom.css"), "{err}");
}

#[test]
fn a_byte_order_mark_at_the_start_of_the_custom_css_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let css = dir.path().join("bom.css");
    std::fs::write(&css, "\u{FEFF}h1 { color: red }").unwrap();
    let sheet =
        Settings { custom_css_file: Some(css), ..Settings::default() }.check().unwrap().brand.stylesheet;
    assert!(sheet.ends_with("}\nh1 { color: red }"), "{sheet:?}");
}
