//! Looking straight into the test's database, to check what the app stored:
//! attempt counters, limit events, challenges and audit rows.

use gatehouse::db::{Db, Pool};

use crate::helpers::TestApp;

/// Runs `$body` with `$pool` bound to an executor of whichever database `$db` holds.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool() {
            Pool::Sqlite(sqlite) => {
                let mut held = sqlite.lock().await;
                let $pool = &mut *held;
                $body
            }
            Pool::Postgres($pool) => $body,
        }
    };
}

pub struct Database {
    db: Db,
}

/// The database of `app`, opened beside the app's own pool.
pub async fn database_of(app: &TestApp) -> Database {
    Database::open(&app.cli.database.url).await
}

impl Database {
    pub async fn open(url: &str) -> Database {
        let db =
            Db::connect(url).await.unwrap_or_else(|e| panic!("open the test database for inspection: {e:#}"));
        Database { db }
    }

    /// One integer from `sql`, which takes a single text parameter `$1`.
    async fn integer(&self, sql: &'static str, param: &str) -> i64 {
        on_pool!(&self.db, pool => sqlx::query_scalar::<_, i64>(sql).bind(param).fetch_one(pool).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        self.integer("SELECT id FROM users WHERE email = $1", email).await
    }

    /// The `attempts` of every challenge ever issued to `email`.
    pub async fn challenge_attempts(&self, email: &str) -> Vec<i64> {
        let sql = "SELECT CAST(c.attempts AS BIGINT) FROM challenges c JOIN flows f ON f.id = c.flow_id \
                   WHERE f.user_id = (SELECT id FROM users WHERE email = $1) ORDER BY c.id";
        on_pool!(&self.db, pool => sqlx::query_scalar::<_, i64>(sql).bind(email).fetch_all(pool).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn challenges_issued_to(&self, email: &str) -> i64 {
        self.challenge_attempts(email).await.len() as i64
    }

    /// Wrong codes counted against the account's rolling 24 h budget.
    pub async fn code_failures_counted(&self, email: &str) -> i64 {
        let bucket = format!("code-failure:user:{}", self.user_id(email).await);
        self.integer(
            "SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM limit_slots WHERE bucket = $1",
            &bucket,
        )
        .await
    }

    /// Audit rows of `event` with `result`, whoever they concern.
    pub async fn audit_count(&self, event: &str, result: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM audit_events WHERE event || ':' || result = $1";
        self.integer(sql, &format!("{event}:{result}")).await
    }

    /// Every audit row, each column as text, tab-separated.
    pub async fn audit_rows(&self) -> Vec<String> {
        let sql = "SELECT CAST(at AS TEXT), COALESCE(CAST(user_id AS TEXT), ''), COALESCE(email, ''), \
                   event, result, COALESCE(client_ip, ''), COALESCE(user_agent, '') \
                   FROM audit_events ORDER BY id";
        type Row = (String, String, String, String, String, String, String);
        let rows: Vec<Row> = on_pool!(&self.db, pool => sqlx::query_as(sql).fetch_all(pool).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(|(a, b, c, d, e, f, g)| [a, b, c, d, e, f, g].join("\t")).collect()
    }

    /// The outbox, oldest first: (kind, status, attempts, whether a body is kept, the body's bytes).
    pub async fn outbox_rows(&self) -> Vec<OutboxRow> {
        let sql = "SELECT kind, status, CAST(attempts AS BIGINT), body FROM outbox ORDER BY id";
        let rows: Vec<(String, String, i64, Option<Vec<u8>>)> =
            on_pool!(&self.db, pool => sqlx::query_as(sql).fetch_all(pool).await)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|(kind, status, attempts, body)| OutboxRow { kind, status, attempts, body })
            .collect()
    }

    /// When the newest challenge of `email` was created, its mail accepted, and it expires.
    pub async fn newest_challenge_clock(&self, email: &str) -> (i64, Option<i64>, i64) {
        let sql = "SELECT c.created_at, c.mail_sent_at, c.expires_at FROM challenges c JOIN flows f ON f.id = c.flow_id \
                   WHERE f.user_id = (SELECT id FROM users WHERE email = $1) ORDER BY c.id DESC LIMIT 1";
        on_pool!(&self.db, pool => sqlx::query_as(sql).bind(email).fetch_one(pool).await)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Sessions stored for the account `user_id` (signed in or half-way).
    pub async fn sessions_of(&self, user_id: i64) -> i64 {
        self.integer("SELECT COUNT(*) FROM sessions WHERE CAST(user_id AS TEXT) = $1", &user_id.to_string())
            .await
    }

    /// The length of the longest key of a run of password failures.
    pub async fn longest_password_bucket(&self) -> i64 {
        self.integer(
            "SELECT CAST(COALESCE(MAX(LENGTH(bucket)), 0) AS BIGINT) FROM password_failures WHERE $1 = $1",
            "",
        )
        .await
    }

    /// Browsers remembered for any account.
    pub async fn known_browsers(&self) -> i64 {
        self.integer("SELECT COUNT(*) FROM known_browsers WHERE $1 = $1", "").await
    }

    /// Runs a statement that changes rows, as a crash or an operator would leave them.
    pub async fn execute(&self, sql: &'static str) {
        on_pool!(&self.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[derive(Debug)]
pub struct OutboxRow {
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub body: Option<Vec<u8>>,
}
