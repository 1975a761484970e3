//! The time, in unix seconds, as every instant is stored. Use cases read it
//! from a `Clock` so that tests can hold time still or move it on.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands at `at` until moved with `advance`.
    pub fn fixed(at: i64) -> Self {
        Self(Some(Arc::new(AtomicI64::new(at))))
    }

    pub fn now(&self) -> i64 {
        match &self.0 {
            None => time::OffsetDateTime::now_utc().unix_timestamp(),
            Some(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a fixed clock on by `secs` (the system clock moves by itself).
    pub fn advance(&self, secs: i64) {
        if let Some(at) = &self.0 {
            at.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = Clock::fixed(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(30);
        assert_eq!(clock.now(), 1_030);
        assert!(Clock::system().now() > 1_700_000_000);
    }
}
