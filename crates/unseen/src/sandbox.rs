//! Least privilege while decoding: before the first untrusted byte is parsed, the process
//! restricts itself with Linux Landlock to reading its inputs (and the system files that
//! ffmpeg and the dynamic loader need) and writing only inside its output folders, and gives up
//! network access. The restriction holds for every thread started afterwards and for every
//! child (ffmpeg, ffprobe): a decoder that is compromised by a hostile file can read no other
//! file of the user's, write nowhere else, and open no TCP connection. A seccomp filter then
//! takes away the creation of sockets of any kind (UDP, raw, named Unix sockets, netlink), which
//! Landlock cannot forbid on the kernels this project runs on.
//!
//! Call [`restrict`] from the main thread before any other thread exists (Landlock applies to
//! the calling thread and its future children only): the CLI calls it after planning the jobs
//! and before loading the detector.

use std::path::{Path, PathBuf};

/// What the sandbox allows.
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Files and folders that may be read (inputs, the regions file).
    pub read: Vec<PathBuf>,
    /// Folders below which files may be created, written, renamed and removed (the output
    /// folders, which must exist).
    pub write: Vec<PathBuf>,
}

/// How much of the sandbox the running kernel enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enforced {
    /// Files and TCP are restricted as described in the module documentation.
    Full,
    /// Landlock is there but older than needed for part of the rules (e.g. no network rules
    /// before Linux 6.7): the message says what is missing.
    Partial(String),
    /// Nothing is restricted (no Landlock in this kernel, or not Linux): the message says why.
    None(String),
}

/// System locations that the process and its ffmpeg children read (never write): programs,
/// libraries, the loader's cache, time zones, CPU topology.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/ld.so.preload",
    "/etc/localtime",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/proc",
    "/dev/urandom",
];

/// Device files the process and ffmpeg may write to.
const SYSTEM_WRITE: &[&str] = &["/dev/null"];

/// Restricts this thread and everything it starts afterwards to `allow`, and forbids TCP
/// bind/connect (UDP too where the kernel can) and connecting to abstract Unix sockets and
/// signalling processes outside the sandbox. Paths that do not exist are left out.
///
/// # Errors
/// A description when Landlock is present but the rules could not be built or applied.
#[cfg(target_os = "linux")]
pub fn restrict(allow: &Allow) -> Result<Enforced, String> {
    use landlock::{
        Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope, ABI,
    };

    let abi = ABI::V6;
    let fs_all = AccessFs::from_all(abi);
    let fs_read = AccessFs::from_read(abi);
    let net = AccessNet::BindTcp | AccessNet::ConnectTcp;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(fs_all)
        .and_then(|r| r.handle_access(net))
        .and_then(|r| r.scope(Scope::AbstractUnixSocket | Scope::Signal))
        .and_then(Ruleset::create)
        .map_err(|e| format!("sandbox: {e}"))?;

    let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read.extend(allow.read.iter().cloned());
    // the ffmpeg and ffprobe that will run: a program named by path ($UNSEEN_FFMPEG,
    // $UNSEEN_FFPROBE) gets that file only; one found on PATH outside /usr (ffmpeg in ~/bin,
    // /opt, ...) gets its folder
    let tools = crate::decode::video::Tools::from_env();
    for tool in [&tools.ffmpeg, &tools.ffprobe] {
        if Path::new(tool).components().count() > 1 {
            read.push(PathBuf::from(tool));
        } else if let Some(dir) = which(tool).and_then(|p| p.parent().map(Path::to_path_buf)) {
            read.push(dir);
        }
    }
    for path in read {
        // a file gets the file rights only (Landlock refuses directory rights on a file)
        let Ok(fd) = PathFd::new(&path) else { continue };
        let access = if path.is_dir() { fs_read } else { fs_read & AccessFs::from_file(abi) };
        ruleset =
            ruleset.add_rule(PathBeneath::new(fd, access)).map_err(|e| format!("sandbox: {}: {e}", path.display()))?;
    }
    let mut write: Vec<PathBuf> = SYSTEM_WRITE.iter().map(PathBuf::from).collect();
    write.extend(allow.write.iter().cloned());
    for path in write {
        let Ok(fd) = PathFd::new(&path) else { continue };
        let access = if path.is_dir() { fs_all } else { AccessFs::from_file(abi) };
        ruleset =
            ruleset.add_rule(PathBeneath::new(fd, access)).map_err(|e| format!("sandbox: {}: {e}", path.display()))?;
    }
    let status = ruleset.restrict_self().map_err(|e| format!("sandbox: {e}"))?;
    let landlock = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Full,
        RulesetStatus::PartiallyEnforced => Enforced::Partial(
            "this kernel's Landlock is older than ABI 6: some rules (network, scoping) are not enforced".into(),
        ),
        RulesetStatus::NotEnforced => {
            Enforced::None("this kernel has no Landlock (Linux ≥ 5.13 with it enabled)".into())
        }
    };
    Ok(match (landlock, deny_sockets()) {
        (landlock, Ok(())) => landlock,
        (Enforced::Full, Err(e)) => Enforced::Partial(e),
        (Enforced::Partial(why), Err(e)) => Enforced::Partial(format!("{why}; {e}")),
        (Enforced::None(why), Err(e)) => Enforced::None(format!("{why}; {e}")),
    })
}

/// Installs a seccomp filter on this thread (inherited by the threads and children it starts
/// afterwards) under which `socket` and `socketpair` fail with `EACCES`: no socket of any family
/// can be created. Sockets that were open before (none in the CLI) stay usable.
///
/// # Errors
/// A description when the filter cannot be built for this architecture or the kernel refuses it.
#[cfg(target_os = "linux")]
pub fn deny_sockets() -> Result<(), String> {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("no seccomp filter on {}: {e}", std::env::consts::ARCH))?;
    let rules = [libc::SYS_socket, libc::SYS_socketpair].into_iter().map(|nr| (nr, Vec::new())).collect();
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EACCES.unsigned_abs()), arch)
            .map_err(|e| format!("seccomp filter: {e}"))?;
    let program: BpfProgram = filter.try_into().map_err(|e| format!("seccomp filter: {e}"))?;
    seccompiler::apply_filter(&program).map_err(|e| format!("seccomp filter not applied: {e}"))
}

/// Not Linux: nothing is restricted.
///
/// # Errors
/// Never.
#[cfg(not(target_os = "linux"))]
pub fn restrict(_allow: &Allow) -> Result<Enforced, String> {
    Ok(Enforced::None("Landlock exists only on Linux".into()))
}

/// Folders the detector engine loads code from at run time, which the sandbox must leave
/// readable: for onnxruntime (builds with the `ort` feature, `backend` not tract) the folder of
/// the library that would be loaded; nothing for tract (the model is embedded).
///
/// # Errors
/// With [`crate::Backend::Ort`], when the library cannot be found (the message says where it
/// was looked for): a usage error, reported before anything is created.
pub fn engine_folders(backend: crate::Backend) -> Result<Vec<PathBuf>, String> {
    #[cfg(feature = "ort")]
    {
        use crate::Backend;
        let lib = match backend {
            Backend::Tract => return Ok(Vec::new()),
            Backend::Ort => crate::detect::onnxruntime::find_library()?,
            Backend::Auto => match crate::detect::onnxruntime::find_library() {
                Ok(lib) => lib,
                Err(_) => return Ok(Vec::new()),
            },
        };
        let lib = std::fs::canonicalize(&lib).unwrap_or(lib);
        Ok(lib.parent().map(Path::to_path_buf).into_iter().collect())
    }
    #[cfg(not(feature = "ort"))]
    {
        let _ = backend;
        Ok(Vec::new())
    }
}

fn which(tool: &std::ffi::OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file()).and_then(|p| std::fs::canonicalize(p).ok())
}

/// Tests only (reached through the `sandbox-probe` fault): tries what a compromised decoder
/// would, and says what happened: reading `secret`, connecting to `addr` over TCP, sending a UDP
/// datagram to `addr`, connecting to the Unix socket `unix` (a path; skipped when empty), and a
/// child process (`cat`) reading `secret`.
#[must_use]
pub fn probe(secret: &Path, addr: &str, unix: &Path) -> String {
    let read = match std::fs::read(secret) {
        Ok(_) => "allowed".to_string(),
        Err(e) => format!("denied ({})", e.kind()),
    };
    let connect = match std::net::TcpStream::connect(addr) {
        Ok(_) => "allowed".to_string(),
        Err(e) => format!("denied ({})", e.kind()),
    };
    let udp = match std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.send_to(b"leak", addr)) {
        Ok(_) => "allowed".to_string(),
        Err(e) => format!("denied ({})", e.kind()),
    };
    #[cfg(unix)]
    let unix = match std::os::unix::net::UnixStream::connect(unix) {
        Ok(_) => "allowed".to_string(),
        Err(e) => format!("denied ({})", e.kind()),
    };
    #[cfg(not(unix))]
    let unix = {
        let _ = unix;
        "not tried".to_string()
    };
    let child = match std::process::Command::new("cat").arg(secret).output() {
        Ok(o) if o.status.success() => "allowed".to_string(),
        Ok(_) => "denied".to_string(),
        Err(e) => format!("not run ({})", e.kind()),
    };
    format!("sandbox probe: read {read}; connect {connect}; udp {udp}; unix socket {unix}; child read {child}")
}
