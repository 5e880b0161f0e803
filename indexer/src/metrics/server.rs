//! The metrics endpoint: `GET /metrics` (Prometheus text) and `GET /health`.

/// Serves `GET /metrics` (the text `render` returns) and `GET /health` on `addr` until
/// `shutdown`.
pub async fn serve(
    addr: std::net::SocketAddr,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> crate::Result<tokio::task::JoinHandle<()>> {
    use warp::Filter;
    let metrics = warp::path!("metrics")
        .map(move || warp::reply::with_header(render(), "content-type", "text/plain; version=0.0.4"));
    let health = warp::path!("health").map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| crate::Error::Config(format!("cannot listen on {addr} for metrics: {err}")))?;
    tracing::info!(%addr, "metrics endpoint listening");
    Ok(tokio::spawn(async move {
        warp::serve(warp::get().and(metrics.or(health)))
            .incoming(listener)
            .graceful(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .run()
            .await;
    }))
}
