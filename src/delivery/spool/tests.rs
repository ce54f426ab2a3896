//! Tests of [`super`], and the spans and destinations the other delivery tests build on.

use super::*;
use crate::export::{OtlpConfig, Protocol, ResourceConfig};
use crate::span::{SpanKind, SpanStatus, TraceId};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

/// A small span with id `[n; 8]`.
pub(crate) fn span(n: u8) -> SpanRecord {
    SpanRecord {
        trace_id: TraceId([1; 16]),
        span_id: SpanId([n; 8]),
        parent_span_id: None,
        name: format!("span {n}"),
        kind: SpanKind::Internal,
        start: UNIX_EPOCH + Duration::from_secs(u64::from(n)),
        end: UNIX_EPOCH + Duration::from_secs(u64::from(n) + 1),
        attributes: vec![("n".to_owned(), crate::span::AttrValue::Int(i64::from(n)))],
        events: Vec::new(),
        status: SpanStatus::Unset,
    }
}

fn ids(spans: &[SpanRecord]) -> Vec<SpanId> {
    spans.iter().map(|s| s.span_id).collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn pushed_batches_survive_reopening_in_order_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool/d");
    let (mut spool, _) = Spool::open(&path, 1 << 20).unwrap();
    assert_eq!(spool.push("a", &[span(1), span(2)]).unwrap(), 2);
    assert_eq!(spool.push("b", &[span(3)]).unwrap(), 1);
    let bytes = spool.queued_bytes();
    drop(spool);
    let (mut reopened, problems) = Spool::open(&path, 1 << 20).unwrap();
    assert!(problems.is_empty());
    assert_eq!((reopened.queued_for("a"), reopened.queued_for("b")), (2, 1));
    let order = reopened.oldest(100, u64::MAX);
    let first = reopened.read(order[0]).unwrap();
    assert_eq!(
        (first.session_id.as_str(), first.spans),
        ("a", vec![span(1), span(2)])
    );
    assert_eq!(reopened.read(order[1]).unwrap().spans, vec![span(3)]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&reopened.path(order[0])), 0o600);
    assert_eq!(reopened.queued_bytes(), bytes);
}

#[test]
fn a_span_already_queued_is_not_queued_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    spool.push("a", &[span(1), span(2)]).unwrap();
    assert_eq!(spool.push("a", &[span(2), span(3), span(3)]).unwrap(), 1);
    assert_eq!(spool.push("a", &[span(1)]).unwrap(), 0);
    assert_eq!((spool.queued_spans(), files(dir.path()).len()), (3, 2));
}

#[test]
fn acknowledged_spans_leave_and_the_rest_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    spool.push("a", &[span(1), span(2), span(3)]).unwrap();
    let seq = spool.oldest(10, u64::MAX)[0];
    spool.remove(seq, &[span(2).span_id]).unwrap();
    assert_eq!(
        ids(&spool.read(seq).unwrap().spans),
        ids(&[span(1), span(3)])
    );
    drop(spool);
    let (mut reopened, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(reopened.queued_for("a"), 2);
    reopened.remove(seq, &ids(&[span(1), span(3)])).unwrap();
    assert_eq!((reopened.queued_for("a"), reopened.queued_bytes()), (0, 0));
    assert!(files(dir.path()).is_empty());
}

#[test]
fn a_full_spool_refuses_a_batch_whole_but_an_empty_one_takes_any() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 10).unwrap();
    assert_eq!(spool.push("a", &[span(1), span(2)]).unwrap(), 2);
    let refused = spool.push("a", &[span(3)]);
    assert!(matches!(refused, Err(SpoolError::Full { limit: 10, .. })));
    assert_eq!((spool.queued_spans(), files(dir.path()).len()), (2, 1));
}

#[test]
fn oldest_batches_fill_a_request_but_always_include_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    for n in 1..=4 {
        spool.push("a", &[span(2 * n), span(2 * n + 1)]).unwrap();
    }
    assert_eq!(spool.oldest(5, u64::MAX).len(), 2);
    assert_eq!(spool.oldest(1, u64::MAX).len(), 1);
    assert_eq!(spool.oldest(100, 1).len(), 1);
}

#[test]
fn damaged_and_temporary_files_are_removed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    spool.push("a", &[span(1)]).unwrap();
    spool.push("b", &[span(2), span(3)]).unwrap();
    let seqs = spool.oldest(10, u64::MAX);
    let torn = std::fs::read(spool.path(seqs[1])).unwrap();
    std::fs::write(spool.path(seqs[1]), &torn[..torn.len() - 5]).unwrap();
    std::fs::write(dir.path().join(".00000000000000000009.batch.tmp"), b"x").unwrap();
    std::fs::write(spool.path(7), b"{\"session").unwrap();
    drop(spool);
    let (mut reopened, problems) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(problems.len(), 1, "the torn header");
    let read = reopened.read(seqs[1]);
    assert!(matches!(read, Err(SpoolError::Damaged { spans: 2, .. })));
    assert_eq!(reopened.queued_spans(), 1);
    assert_eq!(files(dir.path()), [format!("{:020}.batch", seqs[0])]);
}

#[test]
fn one_holder_at_a_time_opens_a_spool() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    spool.push("a", &[span(1)]).unwrap();
    let second = Spool::open(dir.path(), 1 << 20);
    assert!(matches!(second, Err(SpoolError::Busy { .. })), "{second:?}");
    drop(spool);
    let (reopened, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(reopened.queued_spans(), 1);
}

#[test]
fn spool_keys_differ_by_credentials_but_never_contain_them() {
    let config = |key: &str, timeout: u64| {
        let mut otlp = OtlpConfig::new("http://collector:4318/v1/traces", Protocol::HttpJson);
        otlp.headers.insert("authorization", key);
        otlp.timeout = Duration::from_secs(timeout);
        DestinationConfig {
            name: "otlp".to_owned(),
            kind: DestinationKind::Otlp(otlp),
            resource: ResourceConfig::default(),
        }
    };
    let (a, b) = (
        spool_key(&config("secret-a", 1)),
        spool_key(&config("secret-b", 1)),
    );
    assert_ne!(a, b);
    assert_eq!(
        a,
        spool_key(&config("secret-a", 9)),
        "timeouts do not matter"
    );
    assert!(!a.contains("secret") && a.starts_with("otlp-"));
    assert_eq!((name_of_key(&a), name_of_key("plain")), ("otlp", "plain"));
}
