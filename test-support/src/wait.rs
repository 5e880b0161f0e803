//! Waiting for a condition by polling it, instead of sleeping for a guessed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often [`until`] asks again.
pub const POLL: Duration = Duration::from_millis(50);

/// Calls `probe` every [`POLL`] until `done` accepts its answer or `within` passes; returns the
/// last answer (the caller asserts on it, so a timeout fails with what was seen).
pub async fn until<T, F, Fut>(within: Duration, mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = Instant::now() + within;
    loop {
        let value = probe().await;
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`] for a synchronous condition: whether it held within `within`.
pub async fn holds_within(within: Duration, condition: impl Fn() -> bool) -> bool {
    until(within, || std::future::ready(condition()), |held| *held).await
}
