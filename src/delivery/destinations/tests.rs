//! Tests of [`super`].

use super::*;
use crate::delivery::spool::tests::span;
use crate::delivery::spool::Spool;
use crate::export::{DestinationKind, OtlpConfig, Protocol, ResourceConfig, StoreConfig};
use crate::wire::DeliveryState;
use std::time::Duration;

fn store(dir: &std::path::Path) -> DestinationConfig {
    DestinationConfig {
        name: "local".to_owned(),
        kind: DestinationKind::Store(StoreConfig {
            dir: dir.to_owned(),
        }),
        resource: ResourceConfig::default(),
    }
}

fn destinations(state: &StateDir) -> Destinations {
    let log = Log::new(state, "test");
    let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
    let root = state.spool_root();
    Destinations::new(&root, DeliverySettings::default(), tracker, cancel, log)
}

async fn until(mut done: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    waited.await.expect("in time");
}

#[tokio::test(flavor = "multi_thread")]
async fn spooled_spans_reach_the_destination_and_the_session_hears_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path().join("state"));
    let destinations = destinations(&state);
    let config = store(&dir.path().join("store"));
    let handle = destinations
        .for_configs(std::slice::from_ref(&config))
        .remove(0);
    let (ack, mut acks) = mpsc::unbounded_channel();
    let batch = Batch {
        session_id: "s".to_owned(),
        spans: vec![span(1), span(2)],
        ack,
    };
    assert!(handle.send(batch).await);
    let ack = tokio::time::timeout(Duration::from_secs(10), acks.recv()).await;
    let ack = ack.expect("acknowledged in time").expect("an ack");
    assert_eq!(ack.span_ids, [span(1).span_id, span(2).span_id]);
    assert_eq!(
        (ack.destination.as_str(), handle.queued_for("s")),
        (handle.key(), 0)
    );
    let status = destinations.stats().remove(0);
    assert_eq!(
        (status.name.as_str(), status.state),
        ("local", DeliveryState::Ok)
    );
    assert_eq!((status.delivered_spans, status.queued_spans), (2, 0));
    assert!(status.last_success_at_ms.is_some() && status.last_error.is_none());
    assert!(!destinations.busy());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spool_left_by_an_earlier_daemon_waits_for_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path().join("state"));
    let config = store(&dir.path().join("store"));
    let key = spool_key(&config);
    let (mut spool, _) = Spool::open(&state.spool_root().join(&key), 1 << 20).unwrap();
    spool.push("s", &[span(1), span(2), span(3)]).unwrap();
    drop(spool);
    let destinations = destinations(&state);
    let dormant = destinations.stats().remove(0);
    assert_eq!(
        (dormant.spool, dormant.state),
        (key, DeliveryState::Unconfigured)
    );
    assert_eq!(dormant.queued_spans, 3);
    assert!(destinations.spooled_sessions().contains("s"));
    assert!(
        !destinations.busy(),
        "an unconfigured spool keeps no daemon alive"
    );
    let handle = destinations.for_configs(&[config]).remove(0);
    until(|| handle.queued_for("s") == 0).await;
    assert!(destinations.spooled_sessions().is_empty());
    assert_eq!(destinations.stats()[0].delivered_spans, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credential_reaches_the_spool_directory() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path().join("state"));
    let mut otlp = OtlpConfig::new("http://127.0.0.1:9/v1/traces", Protocol::HttpProtobuf);
    otlp.headers
        .insert("authorization", "Bearer sk-spool-secret");
    let config = DestinationConfig {
        name: "otlp".to_owned(),
        kind: DestinationKind::Otlp(otlp),
        resource: ResourceConfig::default(),
    };
    let destinations = destinations(&state);
    let handle = destinations.for_configs(&[config]).remove(0);
    let (ack, _acks) = mpsc::unbounded_channel();
    let batch = Batch {
        session_id: "s".to_owned(),
        spans: vec![span(1)],
        ack,
    };
    assert!(handle.send(batch).await);
    assert_eq!(handle.queued_for("s"), 1, "the destination is unreachable");
    let mut files = vec![state.root().to_owned()];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains("sk-spool-secret"), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn a_full_spool_refuses_a_batch_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path().join("state"));
    let settings = DeliverySettings {
        spool_max_bytes: 1,
        ..DeliverySettings::default()
    };
    let key = spool_key(&store(&dir.path().join("store")));
    let shared = Shared::open(
        &state.spool_root(),
        &key,
        &settings,
        &Log::new(&state, "test"),
    )
    .unwrap();
    assert!(shared.push("s", &[span(1)]));
    assert!(!shared.push("s", &[span(2)]));
    let status = shared.status();
    assert_eq!((status.queued_spans, status.refused_spans), (1, 1));
    assert_eq!(status.state, DeliveryState::Unconfigured);
}
