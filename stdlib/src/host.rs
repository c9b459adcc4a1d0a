//! The `host` namespace: the machine mlpol runs on — OS, architecture,
//! CPU, memory, GPUs, the current user, permission bits of paths, listening
//! sockets and the firewall. No usernames, hostnames or environment values
//! appear in a fact.
//!
//! Linux is read through `/proc`, `/sys` and `/etc/os-release`; macOS
//! through `sw_vers`, `sysctl`, `lsof` and `socketfilterfw`. Every branch is
//! compiled on every Unix (the choice is made with `cfg!` at run time), so
//! the macOS code is type-checked on Linux too. What a platform cannot tell
//! is `unknown` or a [`FactError`] naming the cause. Every subprocess runs
//! with a timeout and a cap on its output.

use crate::collect::{Collector, FactFuture, Settings};
use crate::files::io_reason;
use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::types::{Schema, Type};
use mlpol_lang::value::{record, shorten, Kind, Origin, Value};
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bound on one subprocess (`nft`, `iptables`, `lsof`, ...).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// The most output read from one subprocess.
const MAX_OUTPUT: u64 = 4 << 20;
/// The most `/proc/<pid>/fd` entries looked at to name socket owners.
const MAX_FDS: usize = 500_000;
/// The most sockets listed.
const MAX_SOCKETS: usize = 100_000;

/// Declares the `host` namespace and its records.
pub fn schema(s: &mut Schema) {
    s.record(
        "Host",
        "The machine mlpol runs on. No usernames, hostnames or environment values.",
        &[
            ("os", Type::Str, "`linux` or `macos` (another Unix gives its Rust name)."),
            (
                "os_version",
                Type::Str,
                "`PRETTY_NAME` of `/etc/os-release` (`Debian GNU/Linux 12 (bookworm)`); `macOS 14.5` from `sw_vers`; `unknown` when not readable.",
            ),
            ("kernel", Type::Str, "The kernel release (`6.1.0-18-amd64`), or `unknown`."),
            ("arch", Type::Str, "The CPU architecture: `x86_64` or `aarch64` (Rust's name)."),
            ("apple_silicon", Type::Bool, "True on macOS on an ARM (M-series) CPU."),
            ("cpu_model", Type::Str, "The CPU model name, or `unknown`."),
            ("cores", Type::Int, "Logical CPUs online."),
            ("memory", Type::Size, "Physical memory in bytes."),
            (
                "gpus",
                Type::list(Type::Str),
                "GPUs visible to this process: NVIDIA models from `/proc/driver/nvidia/gpus/*/information` (or `/dev/nvidiaN` device nodes), then other DRM cards (`card0: amdgpu (AMD)`); empty when none is visible.",
            ),
            ("is_root", Type::Bool, "True when mlpol runs with effective user id 0."),
            ("uid", Type::Int, "The effective user id of the mlpol process."),
        ],
    );
    s.record(
        "HostPath",
        "A path on the machine mlpol runs on, with its owner and permission bits (symbolic links are followed).",
        &[
            ("path", Type::Str, "The path as given (`~/` is not shown expanded)."),
            ("exists", Type::Bool, "False when the path (or a directory on it) does not exist."),
            ("kind", Type::Str, "`file`, `dir`, `other`, or `missing` when it does not exist."),
            ("symlink", Type::Bool, "True when the path itself is a symbolic link."),
            ("mode", Type::Int, "Permission bits, e.g. `0o600` is 384; 0 when missing."),
            ("uid", Type::Int, "Owner user id; -1 when missing."),
            ("gid", Type::Int, "Owner group id; -1 when missing."),
            ("owned_by_current_user", Type::Bool, "True when the owner is the effective user of mlpol."),
            ("world_readable", Type::Bool, "True when others may read it (`o+r`)."),
            ("world_writable", Type::Bool, "True when others may write it (`o+w`)."),
        ],
    );
    s.record(
        "Socket",
        "A listening socket of the machine (TCP in LISTEN state, or an unconnected bound UDP socket).",
        &[
            ("protocol", Type::Str, "`tcp`, `tcp6`, `udp` or `udp6`."),
            ("address", Type::Str, "The local address (`127.0.0.1`, `0.0.0.0`, `::`, `::1`)."),
            ("port", Type::Int, "The local port."),
            ("all_interfaces", Type::Bool, "True when bound to every interface (`0.0.0.0` or `::`)."),
            ("loopback", Type::Bool, "True when bound to a loopback address only (`127.0.0.0/8`, `::1`)."),
            (
                "process",
                Type::optional(Type::Str),
                "The name of the process holding it, where its `/proc/<pid>/fd` is readable (all of them as root); null otherwise.",
            ),
        ],
    );
    s.record(
        "Firewall",
        "The host firewall as its tools report it.",
        &[
            ("tool", Type::Str, "`ufw`, `nftables`, `iptables`, `socketfilterfw` (macOS), or `none` when no tool is found."),
            (
                "state",
                Type::Str,
                "`active` (rules or a drop/reject policy), `inactive` (no rules, accepting policies), or `unknown` (the tool could not be run, e.g. without root; the reason is in `detail`).",
            ),
            ("detail", Type::Str, "What the tool said, summarised (rule counts, policies, or the error)."),
        ],
    );
    let host = Type::record("Host");
    s.namespace("host", "The machine mlpol runs on: OS, CPU, memory, GPUs, the current user, permission bits of paths, listening sockets and the firewall. Linux through `/proc` and `/sys`; macOS through its tools. Never uses the network.")
        .function("host", "info", &[], 0, host, false,
            "OS, kernel, architecture, CPU, memory, GPUs and the effective user id of the machine mlpol runs on.")
        .function("host", "path", &[("path", Type::Str)], 1, Type::record("HostPath"), false,
            "Owner and permission bits of a path on the machine (`~/` is the home directory): `host.path(\"~/.aws/credentials\").world_readable`. A missing path gives `exists == false`; any other failure (permission denied) is an error.")
        .function("host", "listening", &[], 0, Type::list(Type::record("Socket")), false,
            "Listening TCP sockets and bound UDP sockets, each with its owner process where readable. Linux: `/proc/net/{tcp,tcp6,udp,udp6}`; macOS: `lsof`. An error where neither is available.")
        .function("host", "firewall", &[], 0, Type::record("Firewall"), false,
            "The firewall state from `ufw status`, `nft list ruleset`, `iptables -S` (Linux) or `socketfilterfw --getglobalstate` (macOS), whichever are installed; the first active one wins. Each tool runs with a 5 s timeout.");
}

/// The `host` collector. It holds no state: every call reads the machine.
pub struct HostCollector {}

impl HostCollector {
    /// A collector for the machine mlpol runs on.
    pub fn new(_settings: &Settings) -> HostCollector {
        HostCollector {}
    }
}

impl Collector for HostCollector {
    fn namespaces(&self) -> &[&str] {
        &["host"]
    }
    fn collect(&self, call: FactCall) -> FactFuture {
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || fact(&call)).await {
                Ok(r) => r,
                Err(e) => Err(FactError::new(format!("the host collector failed: {e}"))),
            }
        })
    }
}

fn fact(call: &FactCall) -> Result<Value, FactError> {
    match call.name.as_str() {
        "info" => info(),
        "path" => {
            let path = call.args.first().and_then(|v| v.as_str()).unwrap_or_default();
            host_path(path)
        }
        "listening" => listening(),
        "firewall" => Ok(firewall()),
        other => Err(FactError::new(format!("no collector for `host.{other}`"))),
    }
}

fn is_linux() -> bool {
    cfg!(target_os = "linux")
}

fn is_macos() -> bool {
    cfg!(target_os = "macos")
}

fn int(n: impl TryInto<i64>) -> Value {
    Value::int(n.try_into().unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------- info

fn info() -> Result<Value, FactError> {
    // Rust's names: `linux`, `macos`.
    let os = std::env::consts::OS;
    let arch = std::env::consts::ARCH;
    let uid = current_uid()?;
    let (os_version, kernel, cpu_model, cores, memory, gpus) = if is_macos() { mac_info()? } else { linux_info()? };
    Ok(record(vec![
        ("os", Value::str(os)),
        ("os_version", Value::str(os_version)),
        ("kernel", Value::str(kernel)),
        ("arch", Value::str(arch)),
        ("apple_silicon", Value::bool(is_macos() && arch == "aarch64")),
        ("cpu_model", Value::str(cpu_model)),
        ("cores", int(cores)),
        ("memory", Value::new(Kind::Size(i64::try_from(memory).unwrap_or(i64::MAX)))),
        ("gpus", Value::list(gpus.into_iter().map(Value::str).collect())),
        ("is_root", Value::bool(uid == 0)),
        ("uid", int(uid)),
    ]))
}

type Info = (String, String, String, usize, u64, Vec<String>);

fn linux_info() -> Result<Info, FactError> {
    let os_version = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| os_release_pretty_name(&t))
        .unwrap_or_else(|| "unknown".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".to_string());
    let cores = match cpuinfo.lines().filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor")).count() {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .map_err(|e| FactError::new(format!("cannot count the CPUs: /proc/cpuinfo lists none and {e}")))?,
        n => n,
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| FactError::new(format!("cannot read /proc/meminfo: {}", io_reason(&e))))?;
    let memory = mem_total(&meminfo).ok_or_else(|| FactError::new("/proc/meminfo has no MemTotal line"))?;
    Ok((os_version, kernel, cpu_model, cores, memory, linux_gpus()))
}

fn mac_info() -> Result<Info, FactError> {
    let text = |cmd: &str, args: &[&str]| {
        run(cmd, args).ok().filter(|o| o.success).map(|o| o.stdout.trim().to_string()).filter(|s| !s.is_empty())
    };
    let os_version =
        text("sw_vers", &["-productVersion"]).map_or_else(|| "unknown".to_string(), |v| format!("macOS {v}"));
    let kernel = text("uname", &["-r"]).unwrap_or_else(|| "unknown".to_string());
    let cpu_model = text("sysctl", &["-n", "machdep.cpu.brand_string"]).unwrap_or_else(|| "unknown".to_string());
    let cores = text("sysctl", &["-n", "hw.logicalcpu"])
        .and_then(|s| s.parse::<usize>().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .ok_or_else(|| FactError::new("cannot count the CPUs: `sysctl -n hw.logicalcpu` failed"))?;
    let memory = text("sysctl", &["-n", "hw.memsize"])
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| FactError::new("cannot read the memory size: `sysctl -n hw.memsize` failed"))?;
    let gpus = run("system_profiler", &["SPDisplaysDataType"])
        .ok()
        .filter(|o| o.success)
        .map(|o| {
            o.stdout
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Chipset Model:").map(|m| m.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok((os_version, kernel, cpu_model, cores, memory, gpus))
}

/// `PRETTY_NAME` of an os-release file, unquoted.
fn os_release_pretty_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let value = l.trim().strip_prefix("PRETTY_NAME=")?.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        Some(value.to_string()).filter(|v| !v.is_empty())
    })
}

/// `model name` (x86), else `Model` or `Hardware` (some ARM boards).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    for key in ["model name", "Model", "Hardware", "cpu model"] {
        let found = cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `MemTotal` in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    let factor = match words.next() {
        Some("kB") | Some("KB") => 1024,
        Some("mB") | Some("MB") => 1024 * 1024,
        None => 1,
        Some(_) => return None,
    };
    n.checked_mul(factor)
}

/// NVIDIA GPUs from the driver's `/proc` files (or its device nodes), then
/// the other DRM cards.
fn linux_gpus() -> Vec<String> {
    let mut gpus = Vec::new();
    let names = |dir: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> =
            std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        v.sort();
        v
    };
    for dir in names("/proc/driver/nvidia/gpus") {
        let Ok(text) = std::fs::read_to_string(dir.join("information")) else { continue };
        let model = text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "Model").then(|| v.trim().to_string())
        });
        gpus.push(model.unwrap_or_else(|| "NVIDIA GPU".to_string()));
    }
    let nvidia_seen = !gpus.is_empty();
    if !nvidia_seen {
        for dev in names("/dev") {
            let Some(name) = dev.file_name().and_then(|n| n.to_str()) else { continue };
            if name.strip_prefix("nvidia").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
                gpus.push(format!("NVIDIA GPU (/dev/{name})"));
            }
        }
    }
    let any_nvidia = !gpus.is_empty();
    for card in names("/sys/class/drm") {
        let Some(name) = card.file_name().and_then(|n| n.to_str()) else { continue };
        if !name.strip_prefix("card").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        let vendor = std::fs::read_to_string(card.join("device/vendor")).unwrap_or_default();
        let vendor = match vendor.trim() {
            "0x10de" => "NVIDIA",
            "0x1002" => "AMD",
            "0x8086" => "Intel",
            "0x1af4" => "virtio",
            "0x1234" => "QEMU",
            "0x15ad" => "VMware",
            _ => "unknown vendor",
        };
        if vendor == "NVIDIA" && any_nvidia {
            continue;
        }
        let driver = std::fs::read_to_string(card.join("device/uevent"))
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("DRIVER=").map(str::to_string)))
            .unwrap_or_else(|| "unknown driver".to_string());
        gpus.push(format!("{name}: {driver} ({vendor})"));
    }
    gpus
}

/// The effective user id: `/proc/self/status` on Linux, `id -u` elsewhere.
fn current_uid() -> Result<u32, FactError> {
    if is_linux() {
        let status = std::fs::read_to_string("/proc/self/status")
            .map_err(|e| FactError::new(format!("cannot read /proc/self/status: {}", io_reason(&e))))?;
        return status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| FactError::new("/proc/self/status has no Uid line"));
    }
    let out = run("id", &["-u"]).map_err(|e| FactError::new(format!("cannot tell the user id: {e}")))?;
    out.stdout.trim().parse().map_err(|_| FactError::new("cannot tell the user id: `id -u` printed no number"))
}

// ---------------------------------------------------------------- path

fn host_path(given: &str) -> Result<Value, FactError> {
    use std::os::unix::fs::MetadataExt;
    if given.is_empty() {
        return Err(FactError::new("`host.path` needs a path"));
    }
    let origin = Origin::uri(given);
    let full = expand_home(given)?;
    let symlink = std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink());
    let meta = match std::fs::metadata(&full) {
        Ok(m) => Some(m),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => None,
        Err(e) => return Err(FactError::new(format!("cannot stat `{given}`: {}", io_reason(&e))).at(origin)),
    };
    let uid = current_uid()?;
    let value = match meta {
        Some(m) => {
            let kind = if m.is_file() {
                "file"
            } else if m.is_dir() {
                "dir"
            } else {
                "other"
            };
            let mode = m.mode() & 0o7777;
            record(vec![
                ("path", Value::str(given)),
                ("exists", Value::bool(true)),
                ("kind", Value::str(kind)),
                ("symlink", Value::bool(symlink)),
                ("mode", int(mode)),
                ("uid", int(m.uid())),
                ("gid", int(m.gid())),
                ("owned_by_current_user", Value::bool(m.uid() == uid)),
                ("world_readable", Value::bool(mode & 0o004 != 0)),
                ("world_writable", Value::bool(mode & 0o002 != 0)),
            ])
        }
        None => record(vec![
            ("path", Value::str(given)),
            ("exists", Value::bool(false)),
            ("kind", Value::str("missing")),
            ("symlink", Value::bool(symlink)),
            ("mode", Value::int(0)),
            ("uid", Value::int(-1)),
            ("gid", Value::int(-1)),
            ("owned_by_current_user", Value::bool(false)),
            ("world_readable", Value::bool(false)),
            ("world_writable", Value::bool(false)),
        ]),
    };
    Ok(value.with_origin(origin))
}

/// `~` and `~/...` relative to `$HOME` (whose value never appears in a fact).
fn expand_home(path: &str) -> Result<PathBuf, FactError> {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(r) if r.starts_with('/') => r.trim_start_matches('/'),
        _ => return Ok(PathBuf::from(path)),
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| FactError::new(format!("cannot expand `{path}`: HOME is not set")))?;
    Ok(Path::new(&home).join(rest))
}

// ---------------------------------------------------------------- listening

/// One socket before it becomes a value.
#[derive(Debug, Clone, PartialEq)]
struct Socket {
    protocol: &'static str,
    ip: IpAddr,
    port: u16,
    inode: u64,
    process: Option<String>,
}

fn listening() -> Result<Value, FactError> {
    let mut sockets = if is_linux() {
        linux_sockets()?
    } else if is_macos() {
        mac_sockets()?
    } else {
        return Err(FactError::new("listening sockets: not supported on this OS"));
    };
    sockets.sort_by(|a, b| (a.protocol, a.port, a.ip).cmp(&(b.protocol, b.port, b.ip)));
    sockets.dedup_by(|a, b| a.protocol == b.protocol && a.port == b.port && a.ip == b.ip && a.process == b.process);
    Ok(Value::list(sockets.iter().map(socket_value).collect()))
}

fn socket_value(s: &Socket) -> Value {
    let loopback = match s.ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    };
    let all = match s.ip {
        IpAddr::V4(v4) => v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_unspecified(),
    };
    let uri = match s.ip {
        IpAddr::V4(v4) => format!("{}://{v4}:{}", s.protocol.trim_end_matches('6'), s.port),
        IpAddr::V6(v6) => format!("{}://[{v6}]:{}", s.protocol.trim_end_matches('6'), s.port),
    };
    record(vec![
        ("protocol", Value::str(s.protocol)),
        ("address", Value::str(s.ip.to_string())),
        ("port", int(s.port)),
        ("all_interfaces", Value::bool(all)),
        ("loopback", Value::bool(loopback)),
        ("process", s.process.as_ref().map_or_else(Value::null, Value::str)),
    ])
    .with_origin(Origin::uri(uri))
}

fn linux_sockets() -> Result<Vec<Socket>, FactError> {
    let mut sockets = Vec::new();
    let mut read_any = false;
    for protocol in ["tcp", "tcp6", "udp", "udp6"] {
        let path = format!("/proc/net/{protocol}");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                read_any = true;
                sockets.extend(parse_proc_net(protocol, &text));
            }
            // No IPv6 in the kernel: no tcp6/udp6 files.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FactError::new(format!("cannot read {path}: {}", io_reason(&e)))),
        }
        if sockets.len() > MAX_SOCKETS {
            return Err(FactError::new(format!("more than {MAX_SOCKETS} listening sockets")));
        }
    }
    if !read_any {
        return Err(FactError::new("listening sockets: /proc/net/tcp is not readable (is /proc mounted?)"));
    }
    let owners = socket_owners(&sockets);
    for s in &mut sockets {
        s.process = owners.get(&s.inode).cloned();
    }
    Ok(sockets)
}

/// Listening TCP sockets (state `0A`) and unconnected UDP sockets (state
/// `07` with no remote address) of one `/proc/net` table.
fn parse_proc_net(protocol: &'static str, text: &str) -> Vec<Socket> {
    let udp = protocol.starts_with("udp");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, state, inode) = (fields.get(1)?, fields.get(2)?, fields.get(3)?, fields.get(9)?);
            let listening = if udp {
                *state == "07" && parse_hex_endpoint(remote).is_some_and(|(ip, port)| port == 0 && ip.is_unspecified())
            } else {
                *state == "0A"
            };
            if !listening {
                return None;
            }
            let (ip, port) = parse_hex_endpoint(local)?;
            Some(Socket { protocol, ip, port, inode: inode.parse().ok()?, process: None })
        })
        .collect()
}

/// `0100007F:1F90` → 127.0.0.1:8080; IPv6 as four 32-bit words, each in
/// the kernel's byte order.
fn parse_hex_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Socket inode → process name, from the `/proc/<pid>/fd` links this
/// process may read.
fn socket_owners(sockets: &[Socket]) -> HashMap<u64, String> {
    let mut wanted: std::collections::HashSet<u64> = sockets.iter().map(|s| s.inode).filter(|i| *i != 0).collect();
    let mut owners = HashMap::new();
    if wanted.is_empty() {
        return owners;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else { return owners };
    let mut pids: Vec<u32> =
        procs.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())).collect();
    pids.sort_unstable();
    let mut seen = 0usize;
    'pids: for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        let mut name: Option<String> = None;
        for fd in fds.flatten() {
            seen += 1;
            if seen > MAX_FDS {
                break 'pids;
            }
            let Ok(link) = std::fs::read_link(fd.path()) else { continue };
            let Some(inode) = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|l| l.parse::<u64>().ok())
            else {
                continue;
            };
            if !wanted.remove(&inode) {
                continue;
            }
            let comm = name.get_or_insert_with(|| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .map(|c| c.trim_end().to_string())
                    .unwrap_or_else(|_| pid.to_string())
            });
            owners.insert(inode, comm.clone());
            if wanted.is_empty() {
                break 'pids;
            }
        }
    }
    owners
}

/// `lsof -nP` for listening TCP and bound UDP sockets, where installed.
fn mac_sockets() -> Result<Vec<Socket>, FactError> {
    let mut sockets = Vec::new();
    for (args, tcp) in [(&["-nP", "-iTCP", "-sTCP:LISTEN"][..], true), (&["-nP", "-iUDP"][..], false)] {
        let out = match run("lsof", args) {
            Ok(o) => o,
            Err(e) if e.contains("not found") => {
                return Err(FactError::new("listening sockets: not supported on this OS (no lsof)"))
            }
            Err(e) => return Err(FactError::new(format!("listening sockets: {e}"))),
        };
        // lsof exits 1 when nothing matches.
        sockets.extend(parse_lsof(&out.stdout, tcp));
    }
    Ok(sockets)
}

/// Lines of `lsof -nP -i`: `COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE
/// NAME`, NAME being `127.0.0.1:8080 (LISTEN)`, `*:5353` or `[::1]:631`.
fn parse_lsof(text: &str, tcp: bool) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let command = fields.first()?;
            let node = fields.iter().position(|f| *f == "TCP" || *f == "UDP")?;
            let v6 = fields.get(node.checked_sub(3)?).is_some_and(|t| *t == "IPv6");
            let name = fields.get(node + 1)?;
            if name.contains("->") {
                return None;
            }
            let (host, port) = name.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let ip = match host {
                "*" if v6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                h => h.split('%').next()?.parse().ok()?,
            };
            let protocol = match (tcp, v6) {
                (true, false) => "tcp",
                (true, true) => "tcp6",
                (false, false) => "udp",
                (false, true) => "udp6",
            };
            // lsof escapes blanks in command names as `\x20`.
            let process = command.replace("\\x20", " ");
            Some(Socket { protocol, ip, port, inode: 0, process: Some(process) })
        })
        .collect()
}

// ---------------------------------------------------------------- firewall

/// One tool's verdict.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    tool: &'static str,
    state: &'static str,
    detail: String,
}

fn firewall() -> Value {
    let verdict = if is_macos() { mac_firewall() } else { linux_firewall() };
    record(vec![
        ("tool", Value::str(verdict.tool)),
        ("state", Value::str(verdict.state)),
        ("detail", Value::str(verdict.detail)),
    ])
}

fn mac_firewall() -> Verdict {
    let tool = "/usr/libexec/ApplicationFirewall/socketfilterfw";
    match run(tool, &["--getglobalstate"]) {
        Ok(out) if out.success => {
            let text = out.stdout.trim().to_string();
            let lower = text.to_ascii_lowercase();
            let state = if lower.contains("enabled") || lower.contains("state = 1") || lower.contains("state = 2") {
                "active"
            } else if lower.contains("disabled") || lower.contains("state = 0") {
                "inactive"
            } else {
                "unknown"
            };
            Verdict { tool: "socketfilterfw", state, detail: text }
        }
        Ok(out) => Verdict { tool: "socketfilterfw", state: "unknown", detail: failure_detail(tool, &out) },
        Err(e) if e.contains("not found") => {
            Verdict { tool: "none", state: "unknown", detail: "no firewall tool found (socketfilterfw)".to_string() }
        }
        Err(e) => Verdict { tool: "socketfilterfw", state: "unknown", detail: e },
    }
}

fn linux_firewall() -> Verdict {
    let mut verdicts = Vec::new();
    let probes: [(&'static str, &str, &[&str], Judge); 3] = [
        ("ufw", "ufw", &["status"], ufw_state),
        ("nftables", "nft", &["list", "ruleset"], nft_state),
        ("iptables", "iptables", &["-S"], iptables_state),
    ];
    for (tool, cmd, args, judge) in probes {
        match run(cmd, args) {
            Ok(out) if out.success => {
                let (state, detail) = judge(&out.stdout);
                verdicts.push(Verdict { tool, state, detail });
            }
            Ok(out) => verdicts.push(Verdict { tool, state: "unknown", detail: failure_detail(cmd, &out) }),
            Err(e) if e.contains("not found") => {}
            Err(e) => verdicts.push(Verdict { tool, state: "unknown", detail: e }),
        }
    }
    pick_verdict(verdicts)
}

/// Reads a tool's output: `(state, detail)`.
type Judge = fn(&str) -> (&'static str, String);

/// The first active tool; else one that could not tell (an inactive answer
/// from one tool does not rule out rules another would show); else the
/// first inactive one; else `none`.
fn pick_verdict(verdicts: Vec<Verdict>) -> Verdict {
    for state in ["active", "unknown", "inactive"] {
        if let Some(v) = verdicts.iter().find(|v| v.state == state) {
            return v.clone();
        }
    }
    Verdict { tool: "none", state: "unknown", detail: "no firewall tool found (ufw, nft, iptables)".to_string() }
}

fn ufw_state(out: &str) -> (&'static str, String) {
    let status = out.lines().find_map(|l| l.trim().strip_prefix("Status:")).map(str::trim).unwrap_or_default();
    let rules = out.lines().filter(|l| l.contains("ALLOW") || l.contains("DENY") || l.contains("REJECT")).count();
    match status {
        "active" => ("active", format!("ufw: active, {rules} rules")),
        "inactive" => ("inactive", "ufw: inactive".to_string()),
        _ => ("unknown", format!("ufw: unexpected status {:?}", shorten(out.trim(), 80))),
    }
}

/// Active when a chain has a drop/reject policy or any rule.
fn nft_state(out: &str) -> (&'static str, String) {
    let mut rules = 0usize;
    let mut chains = 0usize;
    let mut dropping = Vec::new();
    let mut in_chain = false;
    let mut chain_name = String::new();
    for line in out.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("chain ") {
            in_chain = true;
            chains += 1;
            chain_name = rest.trim_end_matches('{').trim().to_string();
            continue;
        }
        if line.starts_with("table ") {
            in_chain = false;
            continue;
        }
        if line == "}" {
            in_chain = false;
            continue;
        }
        if !in_chain {
            continue;
        }
        if line.starts_with("type ") {
            if line.contains("policy drop") || line.contains("policy reject") {
                dropping.push(chain_name.clone());
            }
            continue;
        }
        if line.starts_with("policy ") {
            if line.contains("drop") || line.contains("reject") {
                dropping.push(chain_name.clone());
            }
            continue;
        }
        rules += 1;
    }
    if out.trim().is_empty() {
        return ("inactive", "nftables: empty ruleset".to_string());
    }
    let policy = if dropping.is_empty() { String::new() } else { format!(", drop policy on {}", dropping.join(", ")) };
    let detail = format!("nftables: {chains} chains, {rules} rules{policy}");
    if rules > 0 || !dropping.is_empty() {
        ("active", detail)
    } else {
        ("inactive", detail)
    }
}

/// Active when a built-in chain's policy is DROP/REJECT or any rule exists.
fn iptables_state(out: &str) -> (&'static str, String) {
    let mut rules = 0usize;
    let mut dropping = Vec::new();
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["-P", chain, policy, ..] if matches!(*policy, "DROP" | "REJECT") => dropping.push(chain.to_string()),
            ["-A", ..] => rules += 1,
            _ => {}
        }
    }
    let policy = if dropping.is_empty() { String::new() } else { format!(", DROP policy on {}", dropping.join(", ")) };
    let detail = format!("iptables: {rules} rules{policy}");
    if rules > 0 || !dropping.is_empty() {
        ("active", detail)
    } else {
        ("inactive", detail)
    }
}

fn failure_detail(cmd: &str, out: &Output) -> String {
    let said = if out.stderr.trim().is_empty() { out.stdout.trim() } else { out.stderr.trim() };
    let said = shorten(said.lines().next().unwrap_or_default(), 160);
    let code = out.code.map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
    if said.is_empty() {
        format!("`{cmd}` exited with {code}")
    } else {
        format!("`{cmd}` exited with {code}: {said}")
    }
}

// ---------------------------------------------------------------- subprocesses

/// What a finished subprocess printed.
struct Output {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd args` with no input, `LC_ALL=C`, [`COMMAND_TIMEOUT`] and at
/// most [`MAX_OUTPUT`] bytes read from each stream. `Err` says why it could
/// not run (`... not found` when it is not installed).
fn run(cmd: &str, args: &[&str]) -> Result<Output, String> {
    let mut child = Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{cmd}` not found"),
            _ => format!("cannot run `{cmd}`: {}", io_reason(&e)),
        })?;
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{cmd}` timed out after {}s", COMMAND_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("waiting for `{cmd}` failed: {}", io_reason(&e))),
        }
    };
    // A grandchild may hold the pipes open: wait for the output a little.
    let collect = |rx: Option<std::sync::mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| rx.recv_timeout(Duration::from_secs(1)).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(Output { success: status.success(), code: status.code(), stdout: collect(stdout), stderr: collect(stderr) })
}

/// Reads a pipe to its end (capped) on a thread.
fn reader<R: Read + Send + 'static>(pipe: R) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn hex_endpoints_in_kernel_byte_order() {
        let (ip, port) = parse_hex_endpoint("0100007F:1F90").unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        assert_eq!(port, 8080);
        let (ip, _) = parse_hex_endpoint("00000000000000000000000001000000:0016").unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
        }
        assert!(parse_hex_endpoint("zz:1").is_none());
    }

    #[test]
    fn proc_net_keeps_listening_tcp_and_unconnected_udp() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n\
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n";
        let found = parse_proc_net("tcp", tcp);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].inode, 111);
        let udp = "  sl  local_address rem_address   st ...\n\
  10: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 333 2 0 0\n\
  11: 0100007F:A000 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 444 2 0 0\n";
        let found = parse_proc_net("udp", udp);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].port, found[0].inode), (5353, 333));
    }

    #[test]
    fn lsof_lines() {
        let text = "COMMAND   PID USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME\n\
rapportd  512 me     4u  IPv4 0x1234      0t0  TCP *:49152 (LISTEN)\n\
Python   9000 me     5u  IPv6 0x5678      0t0  TCP [::1]:8000 (LISTEN)\n\
Google\\x20 77 me     6u  IPv4 0x9abc      0t0  TCP 127.0.0.1:5000->127.0.0.1:6000 (ESTABLISHED)\n";
        let found = parse_lsof(text, true);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(found[0].process.as_deref(), Some("rapportd"));
        assert_eq!((found[1].protocol, found[1].ip, found[1].port), ("tcp6", IpAddr::V6(Ipv6Addr::LOCALHOST), 8000));
    }

    #[test]
    fn firewall_rulesets() {
        assert_eq!(nft_state("").0, "inactive");
        let open = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";
        assert_eq!(nft_state(open).0, "inactive");
        let closed =
            "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n";
        let (state, detail) = nft_state(closed);
        assert_eq!(state, "active");
        assert!(detail.contains("drop policy on input"), "{detail}");
        let ruled = "table ip t {\n chain c {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 accept\n }\n}\n";
        assert_eq!(nft_state(ruled).0, "active");
        assert_eq!(iptables_state("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n").0, "inactive");
        assert_eq!(iptables_state("-P INPUT DROP\n-P FORWARD ACCEPT\n").0, "active");
        assert_eq!(iptables_state("-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n").0, "active");
        assert_eq!(ufw_state("Status: inactive\n").0, "inactive");
        assert_eq!(ufw_state("Status: active\n\nTo Action From\n22 ALLOW Anywhere\n").0, "active");
        let unknown = Verdict { tool: "nftables", state: "unknown", detail: "denied".into() };
        let inactive = Verdict { tool: "ufw", state: "inactive", detail: String::new() };
        assert_eq!(pick_verdict(vec![inactive.clone(), unknown.clone()]), unknown);
        assert_eq!(pick_verdict(vec![]).tool, "none");
    }

    #[test]
    fn info_texts() {
        assert_eq!(
            os_release_pretty_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(mem_total("MemTotal:       16316412 kB\nMemFree: 1 kB\n"), Some(16316412 * 1024));
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n").as_deref(), Some("AMD EPYC 7B13"));
    }

    #[test]
    fn subprocess_timeout_and_missing_tool() {
        assert!(run("mlpol-no-such-tool", &[]).err().unwrap().contains("not found"));
        let out = run("sh", &["-c", "echo hi; echo err >&2; exit 3"]).unwrap();
        assert_eq!((out.success, out.code, out.stdout.trim(), out.stderr.trim()), (false, Some(3), "hi", "err"));
        let started = Instant::now();
        let err = run("sleep", &["30"]).err().unwrap();
        assert!(err.contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
