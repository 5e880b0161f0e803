//! The Psy API Services surface (`psy-api-services.md`): every endpoint of the document on its
//! own listener, the JWT-guarded admin endpoints, the writes (`/register`, the real telemetry
//! feed `/telemetry/*`, the reward calculation) and the TPS WebSocket.
//!
//! Layers, each depending only on the ones below it:
//! - [`routes`]: the route table (HTTP only), calling
//! - [`request`] (query strings → typed filters, with [`input`]'s real input forms), then
//! - [`views`] (the refreshed dashboard statistics, cached answers), [`rewards`] (the reward
//!   calculation and its background processing), [`telemetry`], [`register`], [`tps`],
//!   [`dashboard`], all over
//! - [`read`]: typed reads of the projections returning answer structs.

pub mod dashboard;
pub mod input;
pub mod read;
pub mod register;
pub mod request;
pub mod rewards;
pub mod routes;
pub mod telemetry;
pub mod tps;
pub mod views;

pub use routes::routes;
