//! Tests of the wire protocol: frames, routes, requests and answers.
use super::*;
use proptest::prelude::*;
use std::os::unix::net::UnixListener;

fn poke() -> Request {
    let vars = [("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret")];
    Request::Poke {
        session_id: "01a20d7a-b819-7451-bc39-6764d48b49b7".into(),
        route: Route::from_vars(vars.map(|(k, v)| (k.into(), v.into()))),
    }
}

#[test]
fn every_message_round_trips_through_a_frame() {
    let requests = [
        poke(),
        Request::Flush {
            session_id: None,
            timeout_ms: 2000,
        },
        Request::Status,
        Request::Stop,
    ];
    for request in requests {
        let frame = encode(&request).unwrap();
        assert_eq!(try_decode(&frame).unwrap(), Some((request, frame.len())));
    }
    let status = Response::Status(DaemonStatus {
        pid: 7,
        sessions: vec![SessionStatus::default()],
        destinations: vec![DestinationStatus {
            name: "otlp".into(),
            state: DeliveryState::Failing,
            last_error: Some("the receiver answered HTTP 401".into()),
            last_error_at_ms: Some(1),
            ..DestinationStatus::default()
        }],
        ..DaemonStatus::default()
    });
    for response in [
        Response::Flushed,
        Response::TimedOut,
        status,
        Response::Stopping,
    ] {
        let frame = encode(&response).unwrap();
        assert_eq!(read_message::<Response>(&mut &frame[..]).unwrap(), response);
    }
}

#[test]
fn a_frame_is_a_big_endian_length_and_json() {
    let frame = encode(&Request::Status).unwrap();
    assert_eq!(frame, b"\0\0\0\x11{\"type\":\"status\"}");
}

#[test]
fn an_incomplete_frame_decodes_as_not_yet() {
    let frame = encode(&poke()).unwrap();
    for cut in [0, 2, HEADER_BYTES, frame.len() - 1] {
        assert!(try_decode::<Request>(&frame[..cut]).unwrap().is_none());
    }
}

#[test]
fn oversized_frames_are_refused_both_ways() {
    let header = (MAX_FRAME_BYTES as u32 + 1).to_be_bytes();
    assert!(matches!(frame_len(header), Err(Error::TooLarge { .. })));
    assert!(matches!(
        try_decode::<Request>(&header),
        Err(Error::TooLarge { .. })
    ));
    let huge = Request::Poke {
        session_id: "x".repeat(MAX_FRAME_BYTES),
        route: Route::default(),
    };
    assert!(matches!(encode(&huge), Err(Error::TooLarge { .. })));
}

#[test]
fn garbage_bodies_are_decode_errors() {
    for body in [
        &b""[..],
        b"null",
        b"{\"type\":\"teleport\"}",
        b"\xff\xfe",
        b"{\"type\":",
    ] {
        assert!(matches!(decode::<Request>(body), Err(Error::Decode(_))));
    }
}

#[test]
fn a_route_keeps_only_destination_variables_and_hides_values() {
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("BRAINTRUST_API_KEY", "sk-secret"),
        ("TRACE_TO_BRAINTRUST", "true"),
        ("TRACEPARENT", "00-ab-cd-01"),
        ("CODEX_SESSION_ID", "parent"),
        ("CODEX_TOOL_CALL_ID", "call_1"),
        ("CODEX_THREAD_ID", "thread"),
        ("HOME", "/root"),
        ("MY_OTEL_THING", "x"),
    ];
    let route = Route::from_vars(vars.map(|(k, v)| (k.into(), v.into())));
    let names: Vec<_> = route.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "BRAINTRUST_API_KEY",
            "CODEX_SESSION_ID",
            "CODEX_TOOL_CALL_ID",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "TRACEPARENT",
            "TRACE_TO_BRAINTRUST"
        ]
    );
    assert_eq!(route.get("BRAINTRUST_API_KEY"), Some("sk-secret"));
    let shown = format!("{:?}", poke()) + &format!("{route:?}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn a_missing_or_stale_socket_means_no_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("daemon.sock");
    let result = send(&socket, &poke(), Duration::from_millis(100));
    assert!(matches!(result, Err(Error::NoDaemon { .. })));
    drop(UnixListener::bind(&socket).unwrap());
    let result = send(&socket, &poke(), Duration::from_millis(100));
    assert!(matches!(result, Err(Error::NoDaemon { .. })), "{result:?}");
}

#[test]
fn a_client_pokes_and_requests_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("daemon.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let server = std::thread::spawn(move || {
        let (mut poked, _) = listener.accept().unwrap();
        let first: Request = read_message(&mut poked).unwrap();
        let (mut asked, _) = listener.accept().unwrap();
        let second: Request = read_message(&mut asked).unwrap();
        write_message(&mut asked, &Response::TimedOut).unwrap();
        (first, second)
    });
    let timeout = Duration::from_secs(5);
    send(&socket, &poke(), timeout).unwrap();
    let flush = Request::Flush {
        session_id: Some("s".into()),
        timeout_ms: 10,
    };
    assert_eq!(
        request(&socket, &flush, timeout).unwrap(),
        Response::TimedOut
    );
    assert_eq!(server.join().unwrap(), (poke(), flush));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = try_decode::<Request>(&bytes);
        let _ = read_message::<Response>(&mut &bytes[..]);
    }
}
