//! Use cases run as the web layer runs them, without a server: SQLite in a
//! temporary directory, and a clock that moves only when told.

use tempfile::TempDir;

use super::Core;
use super::accounts::Accounts;
use super::challenge::{Behind, CodeCheck, FlowStart, Refusal, Resend, Verdict};
use super::code::{CodeOutcome, enter_code};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::audit::{AuditResult, Event};
use crate::domain::clock::Clock;
use crate::domain::code::OneTimeCode;
use crate::domain::email::EmailAddress;
use crate::domain::keys::Keys;
use crate::domain::password::Password;
use crate::domain::pending::Pending;
use crate::domain::purpose::Purpose;
use crate::domain::requester::{Requested, Requester};

const START: i64 = 1_800_000_000;

struct Harness {
    core: Core,
    user_id: i64,
    _dir: TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: format!("sqlite://{}/core.db", dir.path().display()),
        mail_dir: dir.path().join("mail"),
        ..Settings::default()
    };
    let config = settings.check().unwrap();
    let db = Db::connect(&config.database_url).await.unwrap();
    db.migrate().await.unwrap();
    let keys = Keys::from_secret(&[7; 32]).unwrap();
    let link_base = "http://127.0.0.1:8080/login/link".to_owned();
    let core = Core::new(&config, db, &keys, link_base, Clock::fixed(START)).unwrap();
    let email = EmailAddress::parse("ann@example.com").unwrap();
    let accounts =
        Accounts { db: &core.db, clock: &core.clock, hasher: &core.hasher, throttle: &core.throttle };
    accounts.add(&email, None, &Password::new_secret("a long passphrase".into()).unwrap()).await.unwrap();
    let user_id = crate::db::users::find_by_email(&core.db, &email).await.unwrap().unwrap().id;
    Harness { core, user_id, _dir: dir }
}

/// A flow as `start` makes it, with the code and link token its mail holds.
struct Issued {
    id: i64,
    pending: Pending,
    code: OneTimeCode,
    token: String,
}

fn sample_requested() -> Requested {
    Requester::default().requested(time::OffsetDateTime::UNIX_EPOCH)
}

async fn issue(h: &Harness, purpose: Purpose) -> Issued {
    let to = EmailAddress::parse("ann@example.com").unwrap();
    let requested = sample_requested();
    let mut secrets = None;
    let compose = |code: &OneTimeCode, token: &str| {
        secrets = Some((code.clone(), token.to_owned()));
        h.core.letters.code_mail(&to, purpose, &requested)(code, token)
    };
    let start = FlowStart { user_id: h.user_id, epoch: 0, purpose, return_to: None, requested: &requested };
    let pending = h.core.challenges.start(start, compose).await.unwrap();
    let (code, token) = secrets.expect("the mail was written");
    Issued { id: pending.challenge_id, pending, code, token }
}

/// Checks a typed code as `enter_code` does, recording it as a default requester's.
async fn check(h: &Harness, id: i64, purpose: Purpose, code: &OneTimeCode) -> CodeCheck {
    let requester = Requester::default();
    let accepted = h.core.audit.row(&requester, Some(h.user_id), None, Event::Code(purpose), AuditResult::Ok);
    h.core.challenges.check_code(id, purpose, code, &accepted).await.unwrap()
}

#[tokio::test]
async fn a_right_code_is_recorded_with_its_use_and_only_by_the_check_that_used_it() {
    let h = harness().await;
    let issued = issue(&h, Purpose::Login).await;
    let recorded = || async { crate::db::audit::list(&h.core.db, None, 0).await.unwrap() };

    let first = check(&h, issued.id, Purpose::Login, &issued.code).await;
    let again = check(&h, issued.id, Purpose::Login, &issued.code).await;

    assert!(matches!(first.verdict, Verdict::Accepted(_)) && first.recorded, "{first:?}");
    assert_eq!(again.verdict, Verdict::Refused(Refusal::Used));
    assert!(!again.recorded, "a used code's verdict is for the caller to record");
    let rows = recorded().await;
    let written: Vec<_> = rows.iter().map(|r| (r.user_id, r.event.as_str(), r.result.as_str())).collect();
    assert_eq!(written, [(Some(h.user_id), "code", "ok")], "{rows:?}");
}

#[tokio::test]
async fn a_code_or_link_of_one_purpose_is_never_accepted_by_another_flow() {
    let h = harness().await;
    let reset = issue(&h, Purpose::Reset).await;
    let challenges = &h.core.challenges;

    let as_sign_in = check(&h, reset.id, Purpose::Login, &reset.code).await;
    assert_eq!(as_sign_in.verdict, Verdict::Unknown);
    let behind = challenges.behind_link(&reset.token, Purpose::Login).await.unwrap();
    assert!(matches!(behind, Behind::Unknown), "a reset link is no sign-in link");
    let pending = Pending { purpose: Purpose::Login, ..reset.pending };
    let outcome = enter_code(&h.core, &pending, &reset.code, &Requester::default(), None).await.unwrap();
    assert!(matches!(outcome, CodeOutcome::Gone), "a sign-in cannot finish on a reset code");

    // Untouched by all that, it still works for its own flow.
    let as_reset = check(&h, reset.id, Purpose::Reset, &reset.code).await;
    assert!(matches!(as_reset.verdict, Verdict::Accepted { .. }), "{:?}", as_reset.verdict);
}

#[tokio::test]
async fn a_code_expires_by_the_server_clock() {
    let h = harness().await;
    let issued = issue(&h, Purpose::Login).await;
    h.core.clock.advance(h.core.challenges.rules().ttl_secs);

    let check = check(&h, issued.id, Purpose::Login, &issued.code).await;

    assert_eq!(check.verdict, Verdict::Refused(Refusal::Expired));
}

#[tokio::test]
async fn a_new_code_waits_for_the_cooldown_and_replaces_the_old_one() {
    let h = harness().await;
    let first = issue(&h, Purpose::Login).await;
    let to = EmailAddress::parse("ann@example.com").unwrap();
    let requested = sample_requested();
    let mail = || h.core.letters.code_mail(&to, Purpose::Login, &requested);

    let early = h.core.challenges.resend(first.id, Purpose::Login, mail()).await.unwrap();
    assert!(matches!(early, Resend::Cooldown(30)), "the whole cooldown is left");
    h.core.clock.advance(30);
    let Resend::Sent(second) = h.core.challenges.resend(first.id, Purpose::Login, mail()).await.unwrap()
    else {
        panic!("sent once the cooldown is over");
    };

    assert_ne!(second, first.id);
    let old = check(&h, first.id, Purpose::Login, &first.code).await;
    assert_eq!(old.verdict, Verdict::Refused(Refusal::Replaced));
    let wrong_purpose = h.core.challenges.resend(second, Purpose::Reset, mail()).await.unwrap();
    assert!(matches!(wrong_purpose, Resend::Gone), "a sign-in's code is not resent as a reset");
}

#[tokio::test]
async fn a_pending_sign_in_ends_fifteen_minutes_after_the_password_step_however_many_codes_were_sent() {
    let h = harness().await;
    let first = issue(&h, Purpose::Login).await;
    let to = EmailAddress::parse("ann@example.com").unwrap();
    let requested = sample_requested();
    h.core.clock.advance(14 * 60);
    let mail = h.core.letters.code_mail(&to, Purpose::Login, &requested);
    let Resend::Sent(newest) = h.core.challenges.resend(first.id, Purpose::Login, mail).await.unwrap() else {
        panic!("a new code at minute 14");
    };
    let fresh = crate::db::challenges::find(&h.core.db, newest).await.unwrap().unwrap();
    assert!(fresh.expires_at > START + 20 * 60, "the new code alone would work until minute 24");

    h.core.clock.advance(60);
    let mail = h.core.letters.code_mail(&to, Purpose::Login, &requested);

    let resent = h.core.challenges.resend(newest, Purpose::Login, mail).await.unwrap();
    assert!(matches!(resent, Resend::Gone), "no new code for a sign-in 15 minutes old");
    let behind = h.core.challenges.behind_link(&first.token, Purpose::Login).await.unwrap();
    assert!(matches!(behind, Behind::Refused(Refusal::Replaced)));
    let pending = Pending { challenge_id: newest, ..first.pending };
    let standing = super::code::standing(&h.core, &pending).await.unwrap();
    assert!(matches!(standing, super::code::Standing::Gone), "the waiting page says the sign-in expired");
}
