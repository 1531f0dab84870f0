//! # unseen-review
//!
//! `unseen review`: a local web page to review what the detector found in a batch of photos and
//! videos, fix misses and false alarms, and publish. A thin front door over the `unseen`
//! library: every decision is stored in the library's [`RegionMap`] (the `--regions` format),
//! every region shown or obscured comes from the library's [`unseen::plan`], and publishing runs
//! the library's own batch (detect → obscure → encode → verify → commit).
//!
//! The server listens on loopback only, requires a random token (given once in the URL, then
//! kept in an HttpOnly, SameSite=Strict cookie), checks the `Host` header against the loopback
//! names and its port, sends no CORS headers, a strict Content-Security-Policy and
//! `Cache-Control: no-store`, and addresses inputs by opaque ids only. See [`routes`] for the
//! routes and the JSON they speak.
#![deny(missing_docs)]

mod assets;
pub mod routes;
mod security;
mod state;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use unseen::regions::RegionMap;
use unseen::Pipeline;

pub use state::App;

/// Errors of the review server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The loopback address could not be bound (port in use, …).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sidecar file exists but cannot be read or parsed (it is never overwritten then).
    #[error("decisions file: {0}")]
    Sidecar(unseen::Error),
    /// The operating system's random generator failed.
    #[error("no random token from the operating system: {0}")]
    Random(String),
    /// The async runtime could not start or the server failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// What the server reviews, and where decisions and outputs go.
#[derive(Debug, Clone)]
pub struct Config {
    /// Inputs as given on the command line (files or folders).
    pub inputs: Vec<PathBuf>,
    /// Output folder of Publish.
    pub out: PathBuf,
    /// The decisions file (read at start if it exists, written after every change).
    pub sidecar: PathBuf,
    /// Port on 127.0.0.1 (and ::1 when available); 0 picks a free one.
    pub port: u16,
    /// Command-line flags (detection and obscuring options) that reproduce the pipeline's
    /// options, for the equivalent command shown after Publish.
    pub cli_flags: Vec<String>,
}

impl Config {
    /// The default decisions file for an output folder: `unseen-review.json` beside it.
    #[must_use]
    pub fn default_sidecar(out: &std::path::Path) -> PathBuf {
        match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join("unseen-review.json"),
            _ => PathBuf::from("unseen-review.json"),
        }
    }
}

/// A bound, not yet serving review server.
pub struct Server {
    listeners: Vec<TcpListener>,
    app: Arc<App>,
}

/// Loopback listeners, the page's token and the decisions file, before anything is decoded or
/// any thread started: the CLI binds these, opens the browser, then confines the process (see
/// `unseen::sandbox`) and loads the detector, then [`Bound::start`]s the server.
pub struct Bound {
    listeners: Vec<TcpListener>,
    port: u16,
    token: String,
    config: Config,
    regions: RegionMap,
}

impl Bound {
    /// The address to open, with the token: `http://127.0.0.1:PORT/?token=…`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    /// Lists the inputs and starts detecting them in the background. `pipeline` carries the
    /// options (its manual regions are replaced by the decisions file).
    #[must_use]
    pub fn start(self, pipeline: Pipeline) -> Server {
        let app = App::start(self.config, pipeline, self.regions, self.token, self.port);
        Server { listeners: self.listeners, app }
    }
}

impl Server {
    /// Binds loopback, loads the decisions file, lists the inputs and starts detecting them in
    /// the background: [`Server::prepare`] then [`Bound::start`].
    ///
    /// # Errors
    /// [`Error::Bind`], [`Error::Sidecar`], [`Error::Random`].
    pub fn bind(config: Config, pipeline: Pipeline) -> Result<Server, Error> {
        Ok(Server::prepare(config)?.start(pipeline))
    }

    /// Binds loopback (127.0.0.1, and ::1 on the same port when there is IPv6 loopback), draws
    /// the token and loads the decisions file; starts no thread.
    ///
    /// # Errors
    /// [`Error::Bind`], [`Error::Sidecar`], [`Error::Random`].
    pub fn prepare(config: Config) -> Result<Bound, Error> {
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let first = TcpListener::bind(v4).map_err(|source| Error::Bind { addr: v4, source })?;
        let port = first.local_addr().map_err(|source| Error::Bind { addr: v4, source })?.port();
        let mut listeners = vec![first];
        // ::1 on the same port when the machine has IPv6 loopback; never required
        if let Ok(l) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
            listeners.push(l);
        }
        let regions = if config.sidecar.exists() {
            RegionMap::load(&config.sidecar).map_err(Error::Sidecar)?
        } else {
            RegionMap::default()
        };
        let token = security::new_token().map_err(Error::Random)?;
        Ok(Bound { listeners, port, token, config, regions })
    }

    /// The addresses listened on (all loopback).
    #[must_use]
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// The address to open, with the token: `http://127.0.0.1:PORT/?token=…`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.app.port, self.app.token)
    }

    /// The shared state (tests wait on it).
    #[must_use]
    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves until the process ends.
    ///
    /// # Errors
    /// [`Error::Serve`].
    pub fn run(self) -> Result<(), Error> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(Error::Serve)?;
        let router = routes::router(self.app.clone());
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for l in self.listeners {
                l.set_nonblocking(true).map_err(Error::Serve)?;
                let l = tokio::net::TcpListener::from_std(l).map_err(Error::Serve)?;
                let r = router.clone();
                tasks.push(tokio::spawn(async move { axum::serve(l, r).await }));
            }
            for t in tasks {
                t.await.map_err(|e| Error::Serve(std::io::Error::other(e)))?.map_err(Error::Serve)?;
            }
            Ok(())
        })
    }
}
