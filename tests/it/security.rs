//! Hostile local users and hostile inputs (issue 9): a second local user squatting the socket
//! or the state directory, planted symlinks, and transcripts that are devices or FIFOs.
//!
//! The second-user tests create the user `cotel-attacker` with `useradd` and run the
//! attacker's side as that user with `setpriv`; without root (or without those tools) they
//! print why and return.

use crate::support::bin::{run, Home};
use crate::support::daemon::{wait_for, Daemon, Feed};
use crate::support::fake_otlp::FakeOtlp;
use codex_otel::wire::{self, Request, Route};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ATTACKER: &str = "cotel-attacker";
const SESSION: &str = "01a20d7a-b819-7451-bc39-6764d48b49b7";
const SECRET: &str = "sk-bt-very-secret-key";

/// The attacker's uid, creating the user when needed; `None` (with a printed reason) when
/// this test cannot switch users.
fn attacker_uid() -> Option<u32> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: the second-local-user test needs root (to create and become a user)");
        return None;
    }
    let tools = ["/usr/sbin/useradd", "/usr/bin/setpriv", "/usr/bin/python3"];
    if let Some(missing) = tools.iter().find(|t| !Path::new(t).exists()) {
        println!("SKIPPED: the second-local-user test needs {missing}");
        return None;
    }
    let _ = Command::new("/usr/sbin/useradd")
        .args(["--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER])
        .stderr(Stdio::null())
        .status();
    let id = Command::new("id").args(["-u", ATTACKER]).output().ok()?;
    let uid = String::from_utf8_lossy(&id.stdout).trim().parse().ok();
    if uid.is_none() {
        println!("SKIPPED: could not create the user {ATTACKER}");
    }
    uid
}

/// `args` run as the attacker.
fn as_attacker(uid: u32, args: &[&str]) -> Command {
    let mut command = Command::new("/usr/bin/setpriv");
    command
        .args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".to_owned(),
        ])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    command
}

/// The attacker listening on `socket` and copying whatever it receives to `loot`.
fn squat(uid: u32, socket: &Path, loot: &Path) -> Child {
    let script = "import socket,sys\n\
        s=socket.socket(socket.AF_UNIX)\n\
        s.bind(sys.argv[1]); s.listen(16)\n\
        open(sys.argv[1]+'.ready','w').close()\n\
        while True:\n\
        \x20   c,_=s.accept(); c.settimeout(2)\n\
        \x20   try:\n\
        \x20       d=c.recv(65536)\n\
        \x20   except Exception:\n\
        \x20       d=b''\n\
        \x20   open(sys.argv[2],'ab').write(d)\n";
    let (socket, loot) = (socket.to_str().unwrap(), loot.to_str().unwrap());
    let child = as_attacker(uid, &["/usr/bin/python3", "-c", script, socket, loot])
        .spawn()
        .expect("start the attacker's listener");
    let ready = PathBuf::from(format!("{socket}.ready"));
    wait_for("the attacker to listen", Duration::from_secs(10), || {
        ready.exists().then_some(())
    });
    child
}

/// A directory the attacker owns, world-writable, made in the test's temp dir opened up like
/// `/tmp` (sticky, world-writable).
fn attacker_dir(uid: u32, home: &Home, name: &str) -> PathBuf {
    std::fs::set_permissions(home.outer(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let dir = home.outer().join(name);
    let made = as_attacker(uid, &["/bin/mkdir", "-m", "0777", dir.to_str().unwrap()]).status();
    assert!(made.unwrap().success(), "the attacker creates {dir:?}");
    dir
}

fn payload(event: &str, transcript: &Path) -> Vec<u8> {
    serde_json::json!({
        "session_id": SESSION,
        "hook_event_name": event,
        "cwd": "/",
        "transcript_path": transcript,
        "model": "gpt-5",
    })
    .to_string()
    .into_bytes()
}

/// Runs the hook with a Braintrust key in its environment on `state`.
fn hook_with_key(home: &Home, state: &Path) -> std::process::Output {
    let mut command = home.command(&["hook"]);
    command
        .env("CODEX_OTEL_HOME", state)
        .env("TRACE_TO_BRAINTRUST", "true")
        .env("BRAINTRUST_API_KEY", SECRET);
    run(command, &payload("SessionStart", Path::new("/nonexistent")))
}

#[test]
fn a_state_directory_another_user_created_and_listens_in_is_refused() {
    let Some(uid) = attacker_uid() else { return };
    let home = Home::new();
    let squatted = attacker_dir(uid, &home, "state");
    let loot = home.outer().join("loot");
    let mut listener = squat(uid, &squatted.join("daemon.sock"), &loot);
    let output = hook_with_key(&home, &squatted);
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(output.status.success() && output.stdout.is_empty());
    let stolen = std::fs::read(&loot).unwrap_or_default();
    assert!(
        stolen.is_empty(),
        "the squatter received {} bytes",
        stolen.len()
    );
    assert!(
        !squatted.join("journal").exists(),
        "nothing journaled there"
    );
    let fallback = std::fs::read_to_string("/tmp/codex-otel-0/codex-otel.log").unwrap_or_default();
    assert!(
        fallback.contains(&format!("{} belongs to uid {uid}", squatted.display())),
        "the refusal is logged where the user can read it: {fallback}"
    );
}

#[test]
fn a_client_refuses_a_socket_another_user_listens_on_before_sending() {
    let Some(uid) = attacker_uid() else { return };
    let home = Home::new();
    let dir = attacker_dir(uid, &home, "sockets");
    let (socket, loot) = (dir.join("daemon.sock"), home.outer().join("loot"));
    let mut listener = squat(uid, &socket, &loot);
    let request = Request::Status;
    let answer = wire::request(&socket, &request, Duration::from_secs(2));
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(
        matches!(answer, Err(wire::Error::ForeignPeer { uid: u, .. }) if u == uid),
        "{answer:?}"
    );
    assert!(std::fs::read(&loot).unwrap_or_default().is_empty());
}

#[test]
fn a_world_writable_state_directory_with_planted_symlinks_is_tightened_and_never_followed() {
    let Some(uid) = attacker_uid() else { return };
    let home = Home::new();
    let state = home.state();
    std::fs::create_dir(state.root()).unwrap();
    std::fs::set_permissions(state.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let stash = attacker_dir(uid, &home, "stash");
    let journal = state.journal_dir();
    let planted = as_attacker(
        uid,
        &[
            "/bin/ln",
            "-s",
            stash.to_str().unwrap(),
            journal.to_str().unwrap(),
        ],
    )
    .status();
    assert!(planted.unwrap().success());
    let output = hook_with_key(&home, state.root());
    assert!(output.status.success() && output.stdout.is_empty());
    let entries: Vec<_> = std::fs::read_dir(&stash).unwrap().collect();
    assert!(
        entries.is_empty(),
        "nothing was written through the planted link"
    );
    let meta = std::fs::symlink_metadata(state.root()).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o700,
        "the state directory was tightened"
    );
    let log = std::fs::read_to_string(state.log_file()).unwrap();
    assert!(log.contains("symbolic link"), "{log}");
}

#[test]
fn a_hostile_transcript_path_never_wedges_the_daemon() {
    let home = Home::new();
    let mut daemon = Daemon::start(&home, &[]);
    let fifo = home.outer().join("fifo");
    let fifo_name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(fifo_name.as_ptr(), 0o600) }, 0);
    for (session, transcript) in [("s-zero", Path::new("/dev/zero")), ("s-fifo", &fifo)] {
        let body = String::from_utf8(payload("UserPromptSubmit", transcript)).unwrap();
        let body = body.replace(SESSION, session);
        let output = run(home.command(&["hook"]), body.as_bytes());
        assert!(output.status.success());
    }
    wait_for(
        "both sessions to be followed",
        Duration::from_secs(20),
        || {
            let status = daemon.try_status()?;
            (status.sessions.len() == 2 && status.sessions.iter().all(|s| !s.busy)).then_some(())
        },
    );
    // doctor asks the running daemon about its sessions: neither is stuck.
    let doctor = home.command(&["doctor", "--offline"]).output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(&format!(
            "daemon (pid {}) follows 2 session(s), none stuck",
            daemon.pid()
        )),
        "{report}"
    );
    let stop = home.command(&["stop"]).output().unwrap();
    assert!(stop.status.success(), "{stop:?}");
    assert!(
        daemon.wait_exit(Duration::from_secs(30)),
        "stop ends the daemon"
    );
    let log = std::fs::read_to_string(home.state().log_file()).unwrap();
    assert!(log.contains("not a regular file"), "{log}");
}

#[test]
fn a_state_directory_with_a_very_long_path_still_gets_a_socket() {
    let home = Home::new();
    let deep = home.outer().join("d".repeat(120));
    let state = codex_otel::paths::StateDir::new(&deep);
    assert!(deep.join("daemon.sock").as_os_str().len() > 108);
    let mut daemon = Daemon::start_in(&home, &state, &[]);
    assert_eq!(daemon.status().pid, daemon.pid());
    let started = Instant::now();
    let stop = home
        .command(&["stop"])
        .env("CODEX_OTEL_HOME", &deep)
        .output()
        .unwrap();
    assert!(stop.status.success(), "{stop:?}");
    assert!(
        daemon.wait_exit(Duration::from_secs(30)),
        "stopped after {:?}",
        started.elapsed()
    );
}

#[test]
fn a_restarted_daemon_never_routes_a_session_with_another_sessions_environment() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (a, b) = runtime.block_on(async { (FakeOtlp::http().await, FakeOtlp::http().await) });
    let home = Home::new();
    let feed = Feed::fixture("shell", &home.outer().join("shell"));
    let b_env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", b.url("")),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=b-secret".to_owned(),
        ),
    ];
    // Session B's hooks ran while no daemon listened: its route's secret stayed in memory.
    feed.feed(&home, &b_env, 0..feed.steps.len());
    let stored = std::fs::read_dir(home.state().root().join("routes")).unwrap();
    for file in stored {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains("b-secret"), "no secret on disk: {text}");
    }
    // A daemon started with another environment (session A's) resumes B: B must wait for its
    // own secret (its hook recorded the route's public part and the secret's name only).
    let daemon = Daemon::start(&home, &[("OTEL_EXPORTER_OTLP_ENDPOINT", a.url(""))]);
    wait_for(
        "B to wait for its own route",
        Duration::from_secs(30),
        || {
            let status = daemon.try_status()?;
            let b_status = status
                .sessions
                .iter()
                .find(|s| s.session_id == feed.session_id)?;
            let needs = &b_status.waiting_for;
            (needs == &["OTEL_EXPORTER_OTLP_HEADERS".to_owned()]).then_some(())
        },
    );
    let shown = home.command(&["status"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("waiting for OTEL_EXPORTER_OTLP_HEADERS")
    );
    // B's own next hook supplies the route again: B's spans go to B, with B's header.
    let poke = Request::Poke {
        session_id: feed.session_id.clone(),
        route: Route::from_vars(b_env.iter().map(|(k, v)| ((*k).into(), v.into()))),
    };
    wire::send(&home.state().socket(), &poke, Duration::from_secs(5)).unwrap();
    assert!(daemon.flush(Duration::from_secs(60)));
    assert!(
        a.spans().is_empty(),
        "A received {} of B's spans",
        a.spans().len()
    );
    assert!(!b.spans().is_empty());
    let headers = b
        .received()
        .iter()
        .map(|r| r.headers.get("authorization").cloned())
        .collect::<Vec<_>>();
    assert!(
        headers.iter().all(|h| h.as_deref() == Some("b-secret")),
        "{headers:?}"
    );
}

#[test]
fn a_hook_fired_while_the_daemon_drains_is_picked_up_by_a_successor() {
    let home = Home::new();
    // A destination that refuses connections keeps the draining daemon waiting for its
    // acknowledgements until the drain deadline: that is the window.
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:9".to_owned(),
        ),
        ("CODEX_OTEL_DAEMON_QUIET_SECS", "30".to_owned()),
    ];
    let mut daemon = Daemon::start(&home, &env);
    let feed = Feed::fixture("shell", &home.outer().join("shell"));
    feed.feed(&home, &env, 0..feed.steps.len());
    wait_for(
        "spans waiting for the destination",
        Duration::from_secs(30),
        || {
            let status = daemon.try_status()?;
            status
                .sessions
                .iter()
                .any(|s| s.pending_spans > 0)
                .then_some(())
        },
    );
    assert!(home.command(&["stop"]).output().unwrap().status.success());
    let socket = home.state().socket();
    wait_for("the listener to close", Duration::from_secs(30), || {
        let answer = wire::request(&socket, &Request::Status, Duration::from_secs(1));
        matches!(answer, Err(wire::Error::NoDaemon { .. })).then_some(())
    });
    let late = String::from_utf8(payload("UserPromptSubmit", Path::new("/nonexistent")))
        .unwrap()
        .replace(SESSION, "late-session");
    assert!(run(home.command(&["hook"]), late.as_bytes())
        .status
        .success());
    assert!(
        daemon.wait_exit(Duration::from_secs(60)),
        "the draining daemon exits"
    );
    let successor = wait_for("a successor daemon", Duration::from_secs(30), || {
        let status = daemon.try_status()?;
        (status.pid != daemon.pid()).then_some(status)
    });
    let log = std::fs::read_to_string(home.state().log_file()).unwrap();
    // SAFETY: kill sends SIGTERM to the successor this test caused.
    unsafe { libc::kill(successor.pid as libc::pid_t, libc::SIGTERM) };
    assert!(
        log.contains("session late-session: events arrived while stopping"),
        "{log}"
    );
}
