//! The checks every request passes before any handler runs: loopback `Host`, token, origin.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::state::App;

/// The Content-Security-Policy of every response: only this origin, no inline code.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// 256 bits from the operating system, hex.
pub fn new_token() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The cookie's name (per port, so two servers do not overwrite each other's).
pub fn cookie_name(port: u16) -> String {
    format!("unseen_review_{port}")
}

fn status(code: StatusCode) -> Response {
    let mut r = (code, "").into_response();
    harden(r.headers_mut());
    r
}

fn harden(h: &mut axum::http::HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Whether `host` names this server on loopback (DNS rebinding: a foreign name is refused
/// even when it resolves to 127.0.0.1).
fn host_ok(host: &str, port: u16) -> bool {
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| host == format!("{h}:{port}"))
}

/// Middleware: Host check (421), token check (403), origin check for state changes (403), and
/// the hardening headers on every response. `GET /?token=T` with the right token sets the cookie
/// and redirects to `/`, so the token leaves the address bar.
pub async fn guard(State(app): State<Arc<App>>, req: Request<Body>, next: Next) -> Response {
    let port = app.port;
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !host_ok(host, port) {
        return status(StatusCode::MISDIRECTED_REQUEST);
    }
    let name = cookie_name(port);
    let cookie_ok = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == name && same(v, &app.token));
    if !cookie_ok {
        let query_token = (req.method() == Method::GET && req.uri().path() == "/")
            .then(|| req.uri().query().unwrap_or(""))
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        if query_token.is_some_and(|t| same(t, &app.token)) {
            let mut r = Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, "/")
                .header(header::SET_COOKIE, format!("{name}={}; HttpOnly; SameSite=Strict; Path=/", app.token))
                .body(Body::empty())
                .unwrap_or_default();
            harden(r.headers_mut());
            return r;
        }
        return status(StatusCode::FORBIDDEN);
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if changes {
        // a state change from another origin (the cookie is SameSite=Strict, this is a second lock)
        let origin = req.headers().get(header::ORIGIN).and_then(|h| h.to_str().ok());
        if origin.is_some_and(|o| o != format!("http://{host}")) {
            return status(StatusCode::FORBIDDEN);
        }
    }
    let mut r = next.run(req).await;
    harden(r.headers_mut());
    r.headers_mut().remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token().unwrap());
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[..63]));
    }

    #[test]
    fn only_loopback_names_with_the_port_pass() {
        assert!(host_ok("127.0.0.1:8080", 8080));
        assert!(host_ok("localhost:8080", 8080));
        assert!(host_ok("[::1]:8080", 8080));
        for bad in ["127.0.0.1:8081", "evil.example:8080", "127.0.0.1", "127.0.0.1.evil:8080", ""] {
            assert!(!host_ok(bad, 8080), "{bad}");
        }
    }
}
