//! What every binary of the project does the same way: log to stderr filtered by `RUST_LOG`
//! (default `info`), as text or as JSON lines (`LOG_FORMAT=json`), and stop on Ctrl-C or SIGTERM.

/// Installs the stderr logger: `RUST_LOG` selects levels (default `info`); `LOG_FORMAT=json`
/// writes one JSON object per event (for log collectors), anything else human-readable text.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Registers the Ctrl-C (SIGINT) and SIGTERM handlers at once and returns a future that
/// resolves on either. Registering before the future is first polled matters: a signal that
/// arrives while the runtime is busy, before a task waiting for it ran, would otherwise take the
/// default action and kill the process without its orderly stop. Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            (Ok(mut only), Err(err)) | (Err(err), Ok(mut only)) => {
                tracing::warn!(error = %err, "one of the SIGINT and SIGTERM handlers is missing");
                only.recv().await;
            }
            (Err(err), Err(_)) => {
                tracing::warn!(error = %err, "no signal handlers; the process stops only when killed");
                std::future::pending::<()>().await;
            }
        }
    }
}
