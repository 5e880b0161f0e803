//! The OpenAPI 3 documents of both surfaces (`query-api/openapi/*.json`), served at
//! `/openapi.json` on each listener; their path templates also name routes in the metrics.

use std::sync::OnceLock;

use crate::reply::Surface;

/// The DFPN surface's document.
pub const DFPN: &str = include_str!("../openapi/dfpn.json");
/// The Psy surface's document.
pub const PSY: &str = include_str!("../openapi/psy.json");

/// The document of a surface.
pub fn document(surface: Surface) -> &'static str {
    match surface {
        Surface::Dfpn => DFPN,
        Surface::Psy => PSY,
    }
}

/// The documented path templates of a surface, split into segments.
fn templates(surface: Surface) -> &'static [(String, Vec<String>)] {
    static DFPN_PATHS: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    static PSY_PATHS: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    let cell = match surface {
        Surface::Dfpn => &DFPN_PATHS,
        Surface::Psy => &PSY_PATHS,
    };
    cell.get_or_init(|| {
        documented_paths(surface)
            .into_iter()
            .map(|path| {
                let segments = path.trim_start_matches('/').split('/').map(str::to_owned).collect();
                (path, segments)
            })
            .collect()
    })
}

/// The path templates the document of `surface` lists.
pub fn documented_paths(surface: Surface) -> Vec<String> {
    let document: serde_json::Value = serde_json::from_str(document(surface)).expect("the OpenAPI documents are JSON");
    document["paths"].as_object().expect("an OpenAPI document has paths").keys().cloned().collect()
}

/// The documented template a request path matches (the one with the most literal segments), or
/// `unmatched`: a bounded label for metrics.
pub fn route_label(surface: Surface, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    templates(surface)
        .iter()
        .filter(|(_, template)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .max_by_key(|(_, template)| template.iter().filter(|t| !t.starts_with('{')).count())
        .map_or("unmatched", |(path, _)| path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_map_to_their_templates() {
        assert_eq!(route_label(Surface::Psy, "/stats/jobs/counts"), "/stats/jobs/counts");
        assert_eq!(route_label(Surface::Psy, "/stats/jobs/realm/7"), "/stats/jobs/realm/{realm_id}");
        assert_eq!(
            route_label(Surface::Psy, "/checkpoint/rewards/0xab/stats"),
            "/checkpoint/rewards/{worker_public_key}/stats"
        );
        assert_eq!(route_label(Surface::Dfpn, "/requests/search"), "/requests/search");
        assert_eq!(route_label(Surface::Dfpn, "/requests/abc"), "/requests/{id}");
        assert_eq!(route_label(Surface::Dfpn, "/nope/1/2"), "unmatched");
    }
}
