//! The per-client request allowance: a fixed one-minute window and the `inin-ratelimit-*` headers.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::response::header_value;

/// Requests a minute upstream allows a client-credentials client by default.
pub(crate) const DEFAULT_ALLOWED: u32 = 300;

const WINDOW: Duration = Duration::from_secs(60);

/// The current window and how many API requests it has seen.
#[derive(Debug)]
pub(crate) struct RateWindow {
    started: Instant,
    count: u32,
}

/// Where one request stands in the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission {
    /// Requests in the window, this one included.
    pub(crate) count: u32,
    /// Whole seconds until the window resets, at least 1.
    pub(crate) reset: u64,
}

impl RateWindow {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            started: now,
            count: 0,
        }
    }

    /// Counts a request arriving at `now`, opening a new window when the last one is over.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        if now.duration_since(self.started) >= WINDOW {
            *self = Self::new(now);
        }
        self.count = self.count.saturating_add(1);
        let left = WINDOW.saturating_sub(now.duration_since(self.started));
        let reset = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1);
        Admission {
            count: self.count,
            reset,
        }
    }
}

/// Sets `inin-ratelimit-count`, `inin-ratelimit-allowed` and `inin-ratelimit-reset`.
pub(crate) fn insert_headers(headers: &mut HeaderMap, count: u32, allowed: u32, reset: u64) {
    headers.insert("inin-ratelimit-count", header_value(&count.to_string()));
    headers.insert("inin-ratelimit-allowed", header_value(&allowed.to_string()));
    headers.insert("inin-ratelimit-reset", header_value(&reset.to_string()));
}

#[cfg(test)]
mod tests {
    use super::RateWindow;
    use std::time::{Duration, Instant};

    #[test]
    fn counts_within_a_window_and_restarts_after_a_minute() {
        let start = Instant::now();
        let mut window = RateWindow::new(start);
        let first = window.admit(start);
        assert_eq!((first.count, first.reset), (1, 60));
        let later = window.admit(start + Duration::from_millis(20_500));
        assert_eq!((later.count, later.reset), (2, 40));
        let next = window.admit(start + Duration::from_secs(61));
        assert_eq!((next.count, next.reset), (1, 60));
    }
}
