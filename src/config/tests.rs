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

type Spoil = fn(&mut Settings);

/// `(key, spoil)` for each value: `spoil` sets the key to it.
macro_rules! set {
    ($($key:ident = $($value:expr),+;)*) => {
        [$($((stringify!($key), (|s: &mut Settings| s.$key = $value) as Spoil)),+),*]
    };
}

#[test]
fn every_out_of_range_value_is_refused_naming_its_key() {
    // Every numeric key, below its minimum (where it has one above zero) and
    // above its maximum: a 0 once made every POST /login a 500.
    let numbers = set! {
        otp_length = 5, 11;
        otp_ttl_secs = 0, 3601, u64::MAX;
        otp_max_attempts = 0, 11;
        otp_resend_cooldown_secs = 3601, u64::MAX;
        argon2_memory_kib = 19_455, 4_194_305;
        argon2_iterations = 1, 101;
        argon2_parallelism = 0, 17;
        argon2_max_concurrent = 257;
        argon2_max_queue = 10_001;
        session_idle_timeout_secs = 0, 86_401, u64::MAX;
        session_absolute_timeout_secs = 0, 30 * 86_400 + 1;
        code_failure_budget = 0, 51;
        code_sends_per_15_min = 0, 101;
        code_sends_per_day = 0, 1_001;
        code_sends_per_ip_per_hour = 0, 100_001;
        code_sends_per_hour = 0, 10_000_001, u32::MAX;
        sign_ins_per_ip_per_hour = 0, 10_000_001;
        password_free_failures = 101;
        password_free_failures_per_ip = 1_001;
        password_max_delay_secs = 29, 86_401, u64::MAX;
        password_max_consecutive_failures = 0, 101;
        smtp_timeout_secs = 0, 301, u64::MAX;
        mail_max_attempts = 0, 51;
        mail_retry_delay_secs = 0, 601;
    };
    let others: [(&str, Spoil); 9] = [
        ("database_url", |s| s.database_url = "mysql://x".into()),
        ("bind", |s| s.bind = "localhost".into()),
        ("smtp_ca_file", |s| s.smtp_ca_file = Some("/no/such/ca.pem".into())),
        ("site_name", |s| s.site_name = "  ".into()),
        ("trusted_proxies", |s| s.trusted_proxies = vec!["10.0.0.0/33".into()]),
        ("allowed_return_hosts", |s| s.allowed_return_hosts = vec!["https://x.example".into()]),
        ("support_url", |s| s.support_url = Some("javascript:alert(1)".into())),
        ("public_url", |s| s.public_url = "HTTP://login.example.com".into()),
        ("public_url", |s| s.public_url = "ftp://login.example.com".into()),
    ];
    for (key, spoil) in numbers.into_iter().chain(others) {
        let mut settings = Settings::default();
        spoil(&mut settings);
        let refused = settings.check().err().unwrap_or_else(|| panic!("a value of {key} was accepted"));
        assert!(refused.to_string().contains(&format!("`{key}`")), "{key}: {refused}");
    }
}

#[test]
fn every_numeric_key_takes_its_smallest_and_largest_value_as_is() {
    let smallest = set! {
        otp_length = 6; otp_ttl_secs = 1; otp_max_attempts = 1; otp_resend_cooldown_secs = 0;
        argon2_memory_kib = 19_456; argon2_iterations = 2; argon2_parallelism = 1;
        argon2_max_concurrent = 0; argon2_max_queue = 0;
        session_idle_timeout_secs = 1; session_absolute_timeout_secs = 1;
        code_failure_budget = 1; code_sends_per_15_min = 1; code_sends_per_day = 1;
        code_sends_per_ip_per_hour = 1; code_sends_per_hour = 1; sign_ins_per_ip_per_hour = 1;
        password_free_failures = 0; password_free_failures_per_ip = 0; password_max_delay_secs = 30;
        password_max_consecutive_failures = 1; smtp_timeout_secs = 1; mail_max_attempts = 1;
        mail_retry_delay_secs = 1;
    };
    let largest = set! {
        otp_length = 10; otp_ttl_secs = 3600; otp_max_attempts = 10; otp_resend_cooldown_secs = 3600;
        argon2_memory_kib = 4_194_304; argon2_iterations = 100; argon2_parallelism = 16;
        argon2_max_concurrent = 256; argon2_max_queue = 10_000;
        session_idle_timeout_secs = 86_400; session_absolute_timeout_secs = 30 * 86_400;
        code_failure_budget = 50; code_sends_per_15_min = 100; code_sends_per_day = 1_000;
        code_sends_per_ip_per_hour = 100_000; code_sends_per_hour = 10_000_000;
        sign_ins_per_ip_per_hour = 10_000_000; password_free_failures = 100;
        password_free_failures_per_ip = 1_000; password_max_delay_secs = 86_400;
        password_max_consecutive_failures = 100; smtp_timeout_secs = 300; mail_max_attempts = 50;
        mail_retry_delay_secs = 600;
    };
    let mut small = Settings::default();
    smallest.iter().for_each(|(_, set)| set(&mut small));
    let small = small.check().expect("the smallest values are accepted");
    let mut large = Settings::default();
    largest.iter().for_each(|(_, set)| set(&mut large));
    let large = large.check().expect("the largest values are accepted");

    assert_eq!((small.codes.length, small.codes.ttl_secs, small.limits.password_free_failures), (6, 1, 0));
    assert_eq!(
        (large.codes.ttl_secs, large.codes.max_attempts, large.codes.resend_cooldown_secs),
        (3600, 10, 3600)
    );
    assert_eq!((large.sessions.idle_secs, large.sessions.absolute_secs), (86_400, 30 * 86_400));
    let limits = &large.limits;
    assert_eq!(
        (
            limits.code_sends_per_hour,
            limits.password_max_delay_secs,
            limits.password_max_consecutive_failures
        ),
        (10_000_000, 86_400, 100)
    );
    assert_eq!((limits.password_free_failures, limits.password_free_failures_per_ip), (100, 1_000));
    assert_eq!(
        (large.mail.timeout.as_secs(), large.mail.max_attempts, large.mail.first_retry_delay_secs),
        (300, 50, 600)
    );
    assert_eq!(
        (large.hashing.memory_kib, large.hashing.max_concurrent, large.hashing.max_queue),
        (4_194_304, 256, 10_000)
    );
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
