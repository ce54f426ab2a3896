//! The real `codex-otel hook` binary: journals each usable event exactly once, pokes or starts
//! the daemon, and whatever the input, exits 0 with nothing on stdout. The slim
//! `codex-otel-hook` binary runs the same code: it journals the same, and starts the daemon
//! from the `codex-otel` beside it.

use crate::support::bin::{run, Home, BIN};
use codex_otel::paths::StateDir;
use codex_otel::wire::{self, Request, Response};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

const SESSION: &str = "01a20d7a-b819-7451-bc39-6764d48b49b7";
/// The slim hook binary built with this crate.
const SLIM: &str = env!("CARGO_BIN_EXE_codex-otel-hook");

/// The shell scenario's hook payloads, byte for byte as Codex wrote them.
fn shell_payloads() -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/codex-0.169/shell/hooks.ndjson");
    let text = std::fs::read(path).expect("fixture hooks");
    let lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    lines.map(<[u8]>::to_vec).collect()
}

fn hook(home: &Home, stdin: &[u8]) -> Output {
    run(home.command(&["hook"]), stdin)
}

/// The slim binary at `path`, with no arguments and the clean environment of
/// [`Home::command`].
fn slim_hook(home: &Home, path: &str) -> Command {
    home.shell(&format!("exec '{path}'"))
}

fn assert_silent_success(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {:?}", output.status);
    assert!(
        output.stdout.is_empty(),
        "{what}: stdout {:?}",
        output.stdout
    );
}

fn log_text(state: &StateDir) -> String {
    std::fs::read_to_string(state.log_file()).unwrap_or_default()
}

/// Polls `done` until it holds or five seconds pass.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn real_payloads_are_journaled_once_each_with_their_receive_time() {
    let home = Home::new();
    let payloads = shell_payloads();
    let before = SystemTime::now();
    for payload in &payloads {
        assert_silent_success(&hook(&home, payload), "fixture payload");
    }
    let after = SystemTime::now();
    let entries = home.journal(SESSION);
    let events: Vec<&[u8]> = entries.iter().map(|e| e.event.as_bytes()).collect();
    let expected: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    assert_eq!(events, expected);
    for pair in entries.windows(2) {
        assert!(pair[0].received_at <= pair[1].received_at);
    }
    assert!(entries
        .iter()
        .all(|e| before <= e.received_at && e.received_at <= after));
}

#[test]
fn unusable_input_is_logged_and_dropped_silently() {
    let home = Home::new();
    let fixture = &shell_payloads()[2];
    let cases: [(&str, &[u8]); 6] = [
        ("empty stdin", b""),
        ("not JSON", b"hello, codex"),
        ("truncated JSON", &fixture[..fixture.len() / 2]),
        ("binary garbage", b"\x00\xff\xfe{\x9c\x01\n\x00"),
        (
            "missing session id",
            br#"{"hook_event_name":"Stop","turn_id":"t"}"#,
        ),
        ("array", b"[1,2,3]"),
    ];
    for (what, stdin) in cases {
        assert_silent_success(&hook(&home, stdin), what);
    }
    let state = home.state();
    assert!(!state.journal_dir().exists(), "nothing journaled");
    let log = log_text(&state);
    assert_eq!(log.lines().count(), cases.len(), "{log}");
    assert!(log.lines().all(|l| l.contains("hook[")));
    assert!(
        !log.contains("hello") && !log.contains("echo hello"),
        "{log}"
    );
}

#[test]
fn an_unknown_event_is_journaled_like_any_other() {
    let home = Home::new();
    let payload = format!(r#"{{"session_id":"{SESSION}","hook_event_name":"Teleport"}}"#);
    assert_silent_success(&hook(&home, payload.as_bytes()), "unknown event");
    assert_eq!(home.journal(SESSION)[0].event, payload);
}

#[test]
fn a_50_mb_payload_is_journaled_whole() {
    let home = Home::new();
    let output = "x".repeat(50 << 20);
    let payload = format!(
        r#"{{"session_id":"{SESSION}","hook_event_name":"PostToolUse","tool_response":"{output}"}}"#
    );
    assert_silent_success(&hook(&home, payload.as_bytes()), "50 MB payload");
    let entries = home.journal(SESSION);
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].event == payload,
        "payload changed in the journal"
    );
}

#[test]
fn hostile_session_ids_never_write_outside_the_state_dir() {
    let home = Home::new();
    for id in ["../../x", "/etc/x", "a/../../b", ".."] {
        let payload = serde_json::json!({"session_id": id, "hook_event_name": "Stop"});
        assert_silent_success(&hook(&home, payload.to_string().as_bytes()), id);
        assert_eq!(home.journal(id).len(), 1, "{id}");
    }
    let files = home.files();
    let journals: Vec<_> = files
        .iter()
        .filter(|f| f.starts_with("state/journal"))
        .collect();
    assert_eq!(journals.len(), 4, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with("state")), "{files:?}");
    assert!(!Path::new("/etc/x.ndjson").exists() && !Path::new("/etc/x").exists());
}

#[test]
fn an_unwritable_state_dir_still_exits_0_silently() {
    let home = Home::new();
    let mut command = home.command(&["hook"]);
    command.env("CODEX_OTEL_HOME", "/dev/null/state");
    let output = run(command, &shell_payloads()[0]);
    assert_silent_success(&output, "unwritable state dir");
    assert!(
        output.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_disabled_hook_writes_nothing() {
    let home = Home::new();
    let mut command = home.command(&["hook"]);
    command.env("CODEX_OTEL_DISABLED", "1");
    assert_silent_success(&run(command, &shell_payloads()[0]), "disabled");
    assert!(home.files().is_empty(), "{:?}", home.files());
}

#[test]
fn twenty_concurrent_hooks_append_twenty_intact_lines() {
    let home = Home::new();
    let base = shell_payloads()[3].clone();
    let hooks: Vec<_> = (0..20)
        .map(|i| {
            let mut payload: serde_json::Value = serde_json::from_slice(&base).unwrap();
            payload["tool_response"] = format!("{i}:{}", "y".repeat(100_000)).into();
            let command = home.command(&["hook"]);
            std::thread::spawn(move || run(command, payload.to_string().as_bytes()))
        })
        .collect();
    for hook in hooks {
        assert_silent_success(&hook.join().unwrap(), "concurrent hook");
    }
    let entries = home.journal(SESSION);
    let mut seen: Vec<u32> = entries
        .iter()
        .map(|e| {
            let event: serde_json::Value = serde_json::from_str(&e.event).unwrap();
            let response = event["tool_response"].as_str().unwrap();
            response.split(':').next().unwrap().parse().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
}

#[test]
fn a_listening_daemon_is_poked_after_the_event_is_journaled() {
    let home = Home::new();
    let state = home.state();
    StateDir::ensure_private_dir(state.root()).unwrap();
    let listener = UnixListener::bind(state.socket()).unwrap();
    let mut command = home.command(&["hook"]);
    command
        .env("BRAINTRUST_API_KEY", "sk-very-secret")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
        .env("UNRELATED", "x");
    let payload = shell_payloads()[0].clone();
    let hook = std::thread::spawn(move || run(command, &payload));
    let (mut stream, _) = listener.accept().unwrap();
    let journaled = home.journal(SESSION).len();
    let poke: Request = wire::read_message(&mut stream).unwrap();
    assert_silent_success(&hook.join().unwrap(), "poke");
    assert_eq!(journaled, 1, "the event was journaled before the poke");
    let Request::Poke { session_id, route } = poke else {
        panic!("expected a poke, got {poke:?}");
    };
    assert_eq!(session_id, SESSION);
    assert_eq!(route.get("BRAINTRUST_API_KEY"), Some("sk-very-secret"));
    assert!(route.get("UNRELATED").is_none());
    let on_disk: String = home
        .files()
        .iter()
        .map(|f| std::fs::read_to_string(home.outer().join(f)).unwrap_or_default())
        .collect();
    assert!(
        !on_disk.contains("sk-very-secret"),
        "a secret reached the disk"
    );
}

/// Runs the shell fixture's payload `index` with flush on turn end and answers its flush;
/// returns the flush request the hook sent.
fn requested_flush(index: usize, event: &str) -> Request {
    let home = Home::new();
    let state = home.state();
    StateDir::ensure_private_dir(state.root()).unwrap();
    let listener = UnixListener::bind(state.socket()).unwrap();
    let mut command = home.command(&["hook"]);
    command.env("BRAINTRUST_FLUSH_ON_TURN_END", "true");
    let payload = shell_payloads()[index].clone();
    assert!(String::from_utf8_lossy(&payload).contains(&format!("\"{event}\"")));
    let hook = std::thread::spawn(move || run(command, &payload));
    let (mut poked, _) = listener.accept().unwrap();
    assert!(matches!(
        wire::read_message(&mut poked).unwrap(),
        Request::Poke { .. }
    ));
    let (mut asked, _) = listener.accept().unwrap();
    let flush: Request = wire::read_message(&mut asked).unwrap();
    assert!(!hook.is_finished(), "the hook waits for the answer");
    wire::write_message(&mut asked, &Response::Flushed).unwrap();
    assert_silent_success(&hook.join().unwrap(), "flush");
    flush
}

#[test]
fn a_turn_end_waits_for_a_requested_flush() {
    let expected = Request::Flush {
        session_id: Some(SESSION.into()),
        timeout_ms: codex_otel::hook::FLUSH_TIMEOUT.as_millis() as u64,
    };
    assert_eq!(requested_flush(4, "Stop"), expected);
}

#[test]
fn a_session_end_flush_fits_in_the_three_seconds_codex_allows() {
    let Request::Flush { timeout_ms, .. } = requested_flush(5, "SessionEnd") else {
        panic!("not a flush request")
    };
    assert_eq!(
        timeout_ms,
        codex_otel::hook::SESSION_END_FLUSH_TIMEOUT.as_millis() as u64
    );
    assert!(timeout_ms < 3000);
}

/// Writes an executable fake daemon at `script` that appends `<pid> <args> <cwd> <fd 3>` to
/// `marker`, then sleeps (holding the lock it inherited) until killed.
fn write_fake_daemon(script: &Path, marker: &Path) {
    std::fs::write(
        script,
        format!(
            "#!/bin/sh\necho \"$$ $* $(pwd) $(readlink /proc/self/fd/3)\" >> {}\nexec sleep 30\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(script, Permissions::from_mode(0o755)).unwrap();
}

/// Waits for the fake daemons' `marker`, kills them and checks that exactly one started, as
/// `daemon` in the state directory holding `daemon.lock` as fd 3.
fn assert_one_daemon_started_with_the_lock(home: &Home, marker: &Path) {
    // The shell creates the marker before its line is written: wait for a whole line.
    let written = || std::fs::read_to_string(marker).is_ok_and(|s| s.ends_with('\n'));
    wait_for("the fake daemon", written);
    let spawns = std::fs::read_to_string(marker).unwrap();
    for line in spawns.lines() {
        let pid = line.split(' ').next().unwrap_or_default();
        let _ = Command::new("kill").arg(pid).status();
    }
    let fields: Vec<&str> = spawns.split_whitespace().collect();
    assert_eq!(spawns.lines().count(), 1, "{spawns}");
    let state = home.state();
    let root = state.root().canonicalize().unwrap();
    let lock = state.daemon_lock().canonicalize().unwrap();
    assert_eq!(
        fields[1..],
        ["daemon", root.to_str().unwrap(), lock.to_str().unwrap()]
    );
}

/// Ten concurrent hooks made by `hook` (each given the fake daemon to start) find no daemon:
/// exactly one starts one, and every event is journaled.
fn racing_hooks_start_exactly_one_daemon(hook: impl Fn(&Home) -> Command) {
    let home = Home::new();
    let marker = home.outer().join("spawns");
    let script = home.outer().join("fake-daemon");
    write_fake_daemon(&script, &marker);
    let hooks: Vec<_> = (0..10)
        .map(|_| {
            let mut command = hook(&home);
            command.env("CODEX_OTEL_DAEMON_BIN", &script);
            std::thread::spawn(move || run(command, &shell_payloads()[1]))
        })
        .collect();
    for hook in hooks {
        assert_silent_success(&hook.join().unwrap(), "racing hook");
    }
    assert_one_daemon_started_with_the_lock(&home, &marker);
    assert_eq!(home.journal(SESSION).len(), 10);
}

#[test]
fn racing_hooks_start_exactly_one_daemon_holding_the_lock() {
    racing_hooks_start_exactly_one_daemon(|home| home.command(&["hook"]));
}

#[test]
fn racing_slim_hooks_start_exactly_one_daemon_holding_the_lock() {
    racing_hooks_start_exactly_one_daemon(|home| slim_hook(home, SLIM));
}

#[test]
fn the_slim_binary_journals_real_payloads_exactly_like_codex_otel_hook() {
    let (full, slim) = (Home::new(), Home::new());
    let payloads = shell_payloads();
    for payload in &payloads {
        assert_silent_success(&hook(&full, payload), "codex-otel hook");
        let output = run(slim_hook(&slim, SLIM), payload);
        assert_silent_success(&output, "codex-otel-hook");
        assert!(output.stderr.is_empty(), "{output:?}");
    }
    let events = |home: &Home| -> Vec<String> {
        home.journal(SESSION).into_iter().map(|e| e.event).collect()
    };
    let expected: Vec<String> = payloads
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(events(&full), expected);
    assert_eq!(events(&slim), expected);
    assert_eq!(
        slim.files(),
        full.files(),
        "the same files, journal and log"
    );
    let (log, full_log) = (log_text(&slim.state()), log_text(&full.state()));
    assert_eq!(log.lines().count(), full_log.lines().count(), "{log}");
    assert!(
        log.lines().all(|l| l.contains("started the daemon")),
        "{log}"
    );
}

#[test]
fn the_slim_binary_starts_the_daemon_from_the_codex_otel_beside_it() {
    let home = Home::new();
    let install = home.outer().join("install");
    std::fs::create_dir(&install).unwrap();
    // A link or copy: the binary finds its sibling from its own path (/proc/self/exe), which
    // a symbolic link would resolve back to target/.
    let slim = install.join("codex-otel-hook");
    if std::fs::hard_link(SLIM, &slim).is_err() {
        std::fs::copy(SLIM, &slim).unwrap();
    }
    let marker = home.outer().join("spawns");
    write_fake_daemon(&install.join("codex-otel"), &marker);
    let mut command = slim_hook(&home, slim.to_str().unwrap());
    command.env_remove("CODEX_OTEL_DAEMON_BIN");
    assert_silent_success(&run(command, &shell_payloads()[0]), "slim hook");
    assert_one_daemon_started_with_the_lock(&home, &marker);
    assert_eq!(home.journal(SESSION).len(), 1);
}

#[test]
fn the_hook_stays_near_the_cost_of_cat_and_never_waits_for_the_daemon() {
    let home = Home::new();
    let state = home.state();
    StateDir::ensure_private_dir(state.root()).unwrap();
    // Bound but never accepting: a hook that waited for the daemon would stall here.
    let _listener = UnixListener::bind(state.socket()).unwrap();
    let payload = shell_payloads()[2].clone();
    let time = |script: String| {
        let command = home.shell(&script);
        let start = Instant::now();
        assert_silent_success(&run(command, &payload), &script);
        start.elapsed()
    };
    let (mut cat, mut hook) = (Duration::MAX, Duration::MAX);
    for _ in 0..15 {
        cat = cat.min(time("cat >/dev/null".into()));
        hook = hook.min(time(format!("{BIN} hook")));
    }
    assert!(
        hook <= cat * 3 + Duration::from_millis(5),
        "hook {hook:?} against cat {cat:?}"
    );
    assert_eq!(home.journal(SESSION).len(), 15);
}
