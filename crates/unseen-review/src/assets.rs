//! The page's files, embedded at build time from `assets/` (no build step, nothing fetched).

/// `(content type, bytes)` of an embedded asset, by file name.
pub fn get(name: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match name {
        "index.html" => ("text/html; charset=utf-8", include_bytes!("../assets/index.html")),
        "style.css" => ("text/css; charset=utf-8", include_bytes!("../assets/style.css")),
        "app.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
        "api.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/api.js")),
        "grid.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/grid.js")),
        "viewer.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/viewer.js")),
        "regions.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/regions.js")),
        "favicon.svg" => ("image/svg+xml", include_bytes!("../assets/favicon.svg")),
        _ => return None,
    })
}
