#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The `host` collector on the machine the tests run on: real sockets bound
//! by the test, real files with real permission bits, the real firewall
//! tools (whatever is installed).

use mlpol_lang::eval::{FactCall, FactError};
use mlpol_lang::value::{Kind, Value};
use mlpol_stdlib::collect::{Collector, Settings};
use mlpol_stdlib::host::HostCollector;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn host(name: &str, args: Vec<Value>) -> Result<Value, FactError> {
    let collector = HostCollector::new(&Settings::default());
    let call = FactCall { namespace: "host".into(), name: name.into(), args };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(collector.collect(call))
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or_else(|| panic!("no field `{name}` in {v}"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name).as_str().unwrap_or_else(|| panic!("`{name}` is not a string in {v}"))
}

fn int_field(v: &Value, name: &str) -> i64 {
    match field(v, name).kind {
        Kind::Int(n) => n,
        ref other => panic!("`{name}` is not an int: {other:?}"),
    }
}

fn bool_field(v: &Value, name: &str) -> bool {
    match field(v, name).kind {
        Kind::Bool(b) => b,
        ref other => panic!("`{name}` is not a bool: {other:?}"),
    }
}

fn items(v: &Value) -> Vec<Value> {
    match &v.kind {
        Kind::List(xs) => xs.to_vec(),
        other => panic!("not a list: {other:?}"),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("mlpol-host-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn info_describes_this_machine() {
    let info = host("info", vec![]).unwrap();
    assert_eq!(str_field(&info, "arch"), std::env::consts::ARCH);
    if cfg!(target_os = "linux") {
        assert_eq!(str_field(&info, "os"), "linux");
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(str_field(&info, "kernel"), kernel.trim());
        assert!(!bool_field(&info, "apple_silicon"));
    }
    assert!(int_field(&info, "cores") >= 1);
    match field(&info, "memory").kind {
        Kind::Size(bytes) => assert!(bytes > 0, "memory {bytes}"),
        ref other => panic!("memory is not a size: {other:?}"),
    }
    assert!(!str_field(&info, "os_version").is_empty());
    assert!(!str_field(&info, "cpu_model").is_empty());
    items(field(&info, "gpus")).iter().for_each(|g| assert!(g.as_str().is_some_and(|s| !s.is_empty())));
    // The uid is the owner of a file this process creates.
    let dir = TempDir::new("uid");
    let probe = dir.0.join("probe");
    std::fs::write(&probe, "x").unwrap();
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).unwrap());
    assert_eq!(int_field(&info, "uid"), i64::from(owner));
    assert_eq!(bool_field(&info, "is_root"), owner == 0);
}

fn find_socket(sockets: &[Value], protocol: &str, port: u16) -> Option<Value> {
    sockets.iter().find(|s| str_field(s, "protocol") == protocol && int_field(s, "port") == i64::from(port)).cloned()
}

fn this_process_name() -> Option<String> {
    std::fs::read_to_string("/proc/self/comm").ok().map(|c| c.trim_end().to_string())
}

#[test]
fn listening_sees_a_loopback_listener_of_this_process() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sockets = items(&host("listening", vec![]).unwrap());
    let s = find_socket(&sockets, "tcp", port).unwrap_or_else(|| panic!("port {port} not listed in {sockets:?}"));
    assert_eq!(str_field(&s, "address"), "127.0.0.1");
    assert!(bool_field(&s, "loopback"));
    assert!(!bool_field(&s, "all_interfaces"));
    if cfg!(target_os = "linux") {
        // Our own /proc/self/fd is always readable.
        assert_eq!(field(&s, "process").as_str().map(str::to_string), this_process_name());
    }
    drop(listener);
    // Closed: no longer listed.
    let sockets = items(&host("listening", vec![]).unwrap());
    assert!(find_socket(&sockets, "tcp", port).is_none(), "port {port} still listed after close");
}

#[test]
fn listening_sees_sockets_on_all_interfaces() {
    let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let udp = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    // A connected UDP socket is not listening.
    let connected = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    connected.connect(udp.local_addr().unwrap()).unwrap();
    let connected_port = connected.local_addr().unwrap().port();
    let sockets = items(&host("listening", vec![]).unwrap());
    for (protocol, port) in [("tcp", tcp_port), ("udp", udp_port)] {
        let s = find_socket(&sockets, protocol, port)
            .unwrap_or_else(|| panic!("{protocol} port {port} not listed in {sockets:?}"));
        assert_eq!(str_field(&s, "address"), "0.0.0.0");
        assert!(bool_field(&s, "all_interfaces"));
        assert!(!bool_field(&s, "loopback"));
    }
    if cfg!(target_os = "linux") {
        assert!(find_socket(&sockets, "udp", connected_port).is_none(), "a connected UDP socket is listed");
    }
}

#[test]
fn path_reports_real_permission_bits() {
    let dir = TempDir::new("path");
    let open = dir.0.join("open");
    let private = dir.0.join("private");
    std::fs::write(&open, "x").unwrap();
    std::fs::write(&private, "x").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();

    let v = host("path", vec![Value::str(open.to_str().unwrap())]).unwrap();
    assert!(bool_field(&v, "exists"));
    assert_eq!(str_field(&v, "kind"), "file");
    assert_eq!(int_field(&v, "mode"), 0o777);
    assert!(bool_field(&v, "world_writable"));
    assert!(bool_field(&v, "world_readable"));
    assert!(bool_field(&v, "owned_by_current_user"));
    assert_eq!(v.origin.as_ref().and_then(|o| o.uri.as_deref()), open.to_str());

    let v = host("path", vec![Value::str(private.to_str().unwrap())]).unwrap();
    assert_eq!(int_field(&v, "mode"), 0o600);
    assert!(!bool_field(&v, "world_readable"));
    assert!(!bool_field(&v, "world_writable"));

    let v = host("path", vec![Value::str(dir.0.to_str().unwrap())]).unwrap();
    assert_eq!(str_field(&v, "kind"), "dir");

    let link = dir.0.join("link");
    std::os::unix::fs::symlink(&private, &link).unwrap();
    let v = host("path", vec![Value::str(link.to_str().unwrap())]).unwrap();
    assert!(bool_field(&v, "symlink"));
    assert_eq!(int_field(&v, "mode"), 0o600, "the link is followed");
}

#[test]
fn path_missing_is_not_an_error() {
    let dir = TempDir::new("missing");
    for missing in [dir.0.join("nope"), dir.0.join("nope/deeper")] {
        let v = host("path", vec![Value::str(missing.to_str().unwrap())]).unwrap();
        assert!(!bool_field(&v, "exists"));
        assert_eq!(str_field(&v, "kind"), "missing");
        assert!(!bool_field(&v, "world_readable"));
    }
    // A path through a regular file.
    let file = dir.0.join("file");
    std::fs::write(&file, "x").unwrap();
    let v = host("path", vec![Value::str(file.join("below").to_str().unwrap())]).unwrap();
    assert!(!bool_field(&v, "exists"));
}

#[test]
fn path_expands_home_without_showing_it() {
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        eprintln!("SKIPPED: HOME is not set");
        return;
    };
    let v = host("path", vec![Value::str("~")]).unwrap();
    assert_eq!(str_field(&v, "path"), "~");
    assert_eq!(bool_field(&v, "exists"), std::path::Path::new(&home).exists());
    let v = host("path", vec![Value::str("~/mlpol-surely-not-here-8d1f")]).unwrap();
    assert!(!bool_field(&v, "exists"));
    assert_eq!(str_field(&v, "path"), "~/mlpol-surely-not-here-8d1f");
}

#[test]
fn path_stat_failure_is_an_error() {
    // Root reads every directory: the denial cannot be arranged then.
    let info = host("info", vec![]).unwrap();
    if bool_field(&info, "is_root") {
        let err = host("path", vec![Value::str("")]).unwrap_err();
        assert!(err.message.contains("needs a path"), "{}", err.message);
        return;
    }
    let dir = TempDir::new("denied");
    let locked = dir.0.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("f"), "x").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = host("path", vec![Value::str(locked.join("f").to_str().unwrap())]).unwrap_err();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(err.message.contains("permission denied"), "{}", err.message);
}

#[test]
fn firewall_is_one_of_the_documented_states() {
    let v = host("firewall", vec![]).unwrap();
    let tool = str_field(&v, "tool");
    let state = str_field(&v, "state");
    assert!(["nftables", "iptables", "ufw", "socketfilterfw", "none"].contains(&tool), "tool {tool}");
    assert!(["active", "inactive", "unknown"].contains(&state), "state {state}");
    assert!(!str_field(&v, "detail").is_empty());
    if tool == "none" {
        assert_eq!(state, "unknown");
    }
}

#[test]
fn unknown_function_is_an_error() {
    let err = host("nope", vec![]).unwrap_err();
    assert!(err.message.contains("host.nope"), "{}", err.message);
}
