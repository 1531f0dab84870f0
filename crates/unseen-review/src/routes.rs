//! The routes. Every request first passes [`crate::security`]'s guard (loopback `Host`, token
//! cookie, same origin for changes). Inputs are addressed by `ID`, the index of the input in this
//! session (an opaque number, never a path); any other id is a 404 with an empty body.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /` | the page (`GET /?token=T` sets the cookie and redirects to `/`) |
//! | `GET /assets/NAME` | an embedded asset (CSS, JS modules) |
//! | `GET /api/state` | `{progress: {done, total}, items: [ItemSummary], publish: Publish, sidecar}` |
//! | `GET /api/inputs/ID` | `ItemDetail`: detections with score and `excluded`, own and combined decisions, regions as published; videos: `frames`, `tracks` |
//! | `GET /api/inputs/ID/frames/N` | video frame N: `{detections: [{x,y,w,h,score,track,excluded}], faces: [Rect], regions: [Region]}` |
//! | `GET /api/inputs/ID/image?view=original\|published[&frame=N]` | PNG at full resolution: the upright original, or as published (the library's obscuring of the plan) |
//! | `GET /api/inputs/ID/thumb` | PNG thumbnail |
//! | `PUT /api/inputs/ID/decisions` | body: the input's entry in the `--regions` format (`{obscure, ignore, reviewed}`); saved atomically, answers `ItemDetail` |
//! | `POST` / `DELETE /api/inputs/ID/tracks/T/exclusion` | exclude / include video track T (ignore boxes per detection, each limited to its frame) |
//! | `POST /api/publish` | body `{all: bool}`: publish reviewed files (or all) through the CLI's path; `409` when running, `400` when nothing to publish |

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use unseen::detect::Kind;
use unseen::geom::Rect;
use unseen::obscure::Region;
use unseen::plan::{exclusion_boxes, VideoPlan};
use unseen::regions::ManualRegions;
use unseen::Shape;

use crate::state::{decode_upright, png, App, Detected, Shared};

/// The router with every route behind the guard.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/api/state", get(state))
        .route("/api/inputs/{id}", get(detail))
        .route("/api/inputs/{id}/frames/{n}", get(frame))
        .route("/api/inputs/{id}/image", get(image))
        .route("/api/inputs/{id}/thumb", get(thumb))
        .route("/api/inputs/{id}/decisions", put(decisions))
        .route("/api/inputs/{id}/tracks/{t}/exclusion", post(exclude_track).delete(include_track))
        .route("/api/publish", post(publish))
        .fallback(|| async { not_found() })
        .layer(axum::middleware::from_fn_with_state(app.clone(), crate::security::guard))
        .with_state(app)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "").into_response()
}

fn bad(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(json!({ "error": msg.into() }))).into_response()
}

/// The item index for an id of this session, or None (→ 404).
fn item(app: &App, id: &str) -> Option<usize> {
    // only plain decimal numbers: "01", "+1", " 1" are not ids
    if id.is_empty() || id.len() > 9 || !id.bytes().all(|b| b.is_ascii_digit()) || (id.len() > 1 && id.starts_with('0'))
    {
        return None;
    }
    id.parse::<usize>().ok().filter(|&i| i < app.items.len())
}

async fn index() -> Response {
    crate::assets::get("index.html")
        .map_or_else(not_found, |(ty, body)| ([(header::CONTENT_TYPE, ty)], body).into_response())
}

async fn asset(Path(name): Path<String>) -> Response {
    crate::assets::get(&name).map_or_else(not_found, |(ty, body)| ([(header::CONTENT_TYPE, ty)], body).into_response())
}

#[derive(Serialize)]
struct ItemSummary {
    id: usize,
    name: String,
    kind: &'static str,
    /// "queued", "detecting", "to review", "reviewed", "failed"
    status: &'static str,
    error: Option<String>,
    /// Faces that will be obscured (images: kept detections; videos: tracks not excluded).
    faces: usize,
    /// Detections excluded by a decision.
    excluded: usize,
    /// Manual regions.
    manual: usize,
    progress: Option<(u64, Option<u64>)>,
}

fn summary(app: &App, s: &Shared, i: usize) -> ItemSummary {
    let it = &app.items[i];
    let (_, all) = app.decisions(s, i);
    let (mut faces, mut excluded, mut progress, mut error) = (0, 0, None, None);
    let status = match &s.detected[i] {
        Detected::Queued => "queued",
        Detected::Running(d, t) => {
            progress = Some((*d, *t));
            "detecting"
        }
        Detected::Failed(e) => {
            error = Some(e.clone());
            "failed"
        }
        Detected::Image { .. } | Detected::Video { .. } => {
            // faces are counted as faces; text and people (--text, --people) only as exclusions
            if let Some(plan) = app.image_plan(s, i) {
                let kept = plan.kept();
                faces = kept.iter().filter(|d| d.kind == Kind::Face).count();
                excluded = plan.detected.len() - kept.len();
            } else if let Some(plan) = app.video_plan(s, i) {
                let tracks = plan.tracks(app.pipeline.options());
                excluded = tracks.iter().filter(|t| plan.track_excluded(t)).count();
                faces = tracks.iter().filter(|t| t.kind == Kind::Face && !plan.track_excluded(t)).count();
            }
            if all.reviewed {
                "reviewed"
            } else {
                "to review"
            }
        }
    };
    ItemSummary {
        id: i,
        name: it.name.clone(),
        kind: if it.video { "video" } else { "image" },
        status,
        error,
        faces,
        excluded,
        manual: all.obscure.len(),
        progress,
    }
}

async fn state(State(app): State<Arc<App>>) -> Response {
    let s = app.lock();
    let items: Vec<ItemSummary> = (0..app.items.len()).map(|i| summary(&app, &s, i)).collect();
    let done = items.iter().filter(|i| !matches!(i.status, "queued" | "detecting")).count();
    Json(json!({
        "progress": {"done": done, "total": items.len()},
        "items": items,
        "publish": s.publish,
        "sidecar": app.config.sidecar.to_string_lossy(),
        "out": app.config.out.to_string_lossy(),
    }))
    .into_response()
}

fn region_json(r: &Region) -> Value {
    json!({"x": r.rect.x, "y": r.rect.y, "w": r.rect.w, "h": r.rect.h,
           "shape": if r.shape == Shape::Box { "box" } else { "ellipse" }})
}

fn detail_json(app: &App, s: &Shared, i: usize) -> Value {
    let sum = summary(app, s, i);
    let (own, all) = app.decisions(s, i);
    let mut v = json!({"summary": sum, "decisions": own, "combined": all});
    match &s.detected[i] {
        Detected::Image { width, height, faces } => {
            let plan = app.image_plan(s, i).unwrap_or_else(|| unseen::plan::ImagePlan::new(faces.clone(), all.clone()));
            v["width"] = json!(width);
            v["height"] = json!(height);
            v["detections"] = faces
                .iter()
                .map(|d| json!({"x": d.rect.x, "y": d.rect.y, "w": d.rect.w, "h": d.rect.h, "score": d.score, "kind": d.kind, "excluded": plan.is_excluded(d)}))
                .collect();
            v["regions"] = plan.regions(app.rule()).iter().map(region_json).collect();
        }
        Detected::Video { width, height, frames } => {
            let plan = VideoPlan { detected: frames.clone(), manual: all };
            v["width"] = json!(width);
            v["height"] = json!(height);
            v["frames"] = json!(frames.len());
            v["tracks"] = plan
                .tracks(app.pipeline.options())
                .iter()
                .map(|t| {
                    json!({"id": t.id, "kind": t.kind, "first": t.first, "last": t.last, "detections": t.detections.len(),
                                "best": t.detections.iter().map(|d| d.1.score).fold(0.0f32, f32::max),
                                "excluded": plan.track_excluded(t)})
                })
                .collect();
        }
        _ => {}
    }
    v
}

async fn detail(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(i) = item(&app, &id) else { return not_found() };
    let s = app.lock();
    Json(detail_json(&app, &s, i)).into_response()
}

async fn frame(State(app): State<Arc<App>>, Path((id, n)): Path<(String, String)>) -> Response {
    let Some(i) = item(&app, &id) else { return not_found() };
    let Ok(n) = n.parse::<u64>() else { return not_found() };
    let s = app.lock();
    let Some(plan) = app.video_plan(&s, i) else { return not_found() };
    let Some(dets) = plan.detected.get(n as usize) else { return not_found() };
    let tracks = plan.tracks(app.pipeline.options());
    let planner = plan.planner(app.pipeline.options());
    let detections: Vec<Value> = dets
        .iter()
        .map(|d| {
            let track = tracks.iter().find(|t| t.detections.iter().any(|(f, e)| *f == n && e == d)).map(|t| t.id);
            json!({"x": d.rect.x, "y": d.rect.y, "w": d.rect.w, "h": d.rect.h, "score": d.score, "track": track,
                   "kind": d.kind, "excluded": plan.manual.ignores(d, Some(n))})
        })
        .collect();
    // every covered box (faces, and text and people when detected), tracked or interpolated
    let faces: Vec<Rect> = planner.boxes(n).iter().map(|d| d.rect).collect();
    let regions: Vec<Value> = planner.regions(n).iter().map(region_json).collect();
    Json(json!({"frame": n, "detections": detections, "faces": faces, "regions": regions})).into_response()
}

#[derive(Deserialize)]
struct ImageQuery {
    view: Option<String>,
    frame: Option<u64>,
}

fn png_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png")], bytes).into_response()
}

async fn image(State(app): State<Arc<App>>, Path(id): Path<String>, Query(q): Query<ImageQuery>) -> Response {
    let Some(i) = item(&app, &id) else { return not_found() };
    let published = match q.view.as_deref() {
        None | Some("original") => false,
        Some("published") => true,
        Some(_) => return not_found(),
    };
    let app2 = app.clone();
    let made = tokio::task::spawn_blocking(move || render(&app2, i, published, q.frame)).await;
    match made {
        Ok(Ok(bytes)) => png_response(bytes),
        Ok(Err(code)) => (code, "").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The picture of item `i` (frame `frame` of a video): original, or rendered as published by the
/// library (the plan's regions, obscured by the pipeline's own obscuring).
fn render(app: &App, i: usize, published: bool, frame: Option<u64>) -> Result<Vec<u8>, StatusCode> {
    let Some(job) = &app.items[i].job else { return Err(StatusCode::NOT_FOUND) };
    let (mut rgb, regions) = if app.items[i].video {
        let n = frame.unwrap_or(0);
        let regions = {
            let s = app.lock();
            match app.video_plan(&s, i) {
                Some(plan) if (n as usize) < plan.detected.len() => plan.planner(app.pipeline.options()).regions(n),
                Some(_) => return Err(StatusCode::NOT_FOUND),
                None if published => return Err(StatusCode::CONFLICT),
                None => Vec::new(),
            }
        };
        (unseen::video::decode_frame(&job.input, n).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?, regions)
    } else {
        let regions = {
            let s = app.lock();
            match app.image_plan(&s, i) {
                Some(plan) => plan.regions(app.rule()),
                None if published => return Err(StatusCode::CONFLICT),
                None => Vec::new(),
            }
        };
        (decode_upright(&app.pipeline, &job.input).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?, regions)
    };
    if published {
        app.pipeline.obscure(&mut rgb, &regions, frame.unwrap_or(0));
    }
    png(&rgb).ok_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn thumb(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(i) = item(&app, &id) else { return not_found() };
    let t = app.lock().thumbs[i].clone();
    t.map_or_else(not_found, png_response)
}

async fn decisions(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Some(i) = item(&app, &id) else { return not_found() };
    let entry: ManualRegions = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Err(e) = app.set_decisions(i, entry) {
        return bad(StatusCode::BAD_REQUEST, e);
    }
    let s = app.lock();
    Json(detail_json(&app, &s, i)).into_response()
}

fn change_track(app: &App, id: &str, t: &str, exclude: bool) -> Response {
    let Some(i) = item(app, id) else { return not_found() };
    let Ok(t) = t.parse::<usize>() else { return not_found() };
    let entry = {
        let s = app.lock();
        let Some(plan) = app.video_plan(&s, i) else { return not_found() };
        let tracks = plan.tracks(app.pipeline.options());
        let Some(track) = tracks.get(t) else { return not_found() };
        let mut own = app.decisions(&s, i).0;
        let boxes = exclusion_boxes(track);
        own.ignore.retain(|b| !boxes.contains(b));
        if exclude {
            own.ignore.extend(boxes);
        }
        own
    };
    if let Err(e) = app.set_decisions(i, entry) {
        return bad(StatusCode::BAD_REQUEST, e);
    }
    let s = app.lock();
    Json(detail_json(app, &s, i)).into_response()
}

async fn exclude_track(State(app): State<Arc<App>>, Path((id, t)): Path<(String, String)>) -> Response {
    change_track(&app, &id, &t, true)
}

async fn include_track(State(app): State<Arc<App>>, Path((id, t)): Path<(String, String)>) -> Response {
    change_track(&app, &id, &t, false)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    #[serde(default)]
    all: bool,
}

async fn publish(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let body: PublishBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if !app.detection_done() {
        return bad(StatusCode::CONFLICT, "detection is still running");
    }
    match app.start_publish(body.all) {
        Ok(n) => Json(json!({"started": n})).into_response(),
        Err(e) => bad(StatusCode::CONFLICT, e),
    }
}
