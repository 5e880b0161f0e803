//! The live endpoints: the TPS WebSocket and the dashboard page.

use std::sync::Arc;

use warp::http::Method;
use warp::{Filter, Reply};

use super::with_state;
use crate::psy::request::Query;
use crate::psy::{dashboard, tps};
use crate::reply::{json, Surface};
use crate::routes::{route, Route};
use crate::State;

/// The live routes.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/ws/tps",
            warp::path!("ws" / "tps")
                .and(warp::ws())
                .and(warp::query::<Query>())
                .and(crate::reply::client(state.clone()))
                .and(with_state(&state))
                .map(|ws: warp::ws::Ws, q: Query, (key, _): (String, bool), st: Arc<State>| {
                    let form = match tps::TpsForm::parse(q.get("format").map(String::as_str)) {
                        Ok(form) => form,
                        Err(error) => return json(Surface::Psy, Err(error)),
                    };
                    let hub = st.tps.clone();
                    match hub.admit(&key) {
                        Ok(admission) => {
                            let limits = hub.limits();
                            ws.max_message_size(limits.max_message_bytes)
                                .max_frame_size(limits.max_frame_bytes)
                                .on_upgrade(move |socket| hub.serve(socket, admission, form))
                                .into_response()
                        }
                        Err(error) => json(Surface::Psy, Err(error)),
                    }
                }),
        ),
        route(
            Method::GET,
            "/dashboard",
            warp::path!("dashboard")
                .and(warp::header::optional::<String>("host"))
                .and(with_state(&state))
                .map(|host: Option<String>, st: Arc<State>| dashboard::page(&st, host.as_deref())),
        ),
    ]
}
