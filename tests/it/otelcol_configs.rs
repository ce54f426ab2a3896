//! The OpenTelemetry Collector (otelcol-contrib) configurations in `otel-config/otelcol/`,
//! validated structurally, since the official collector cannot be installed here: each file
//! parses; every pipeline references only defined components and every defined component is
//! used; component types come from a known list of current names; every `${env:VAR}` is
//! documented in the file's header comment; and the settings codex-otel relies on (Braintrust
//! headers, byte-sized batches under 10 MB, the content-stripping transform) are present.

use codex_otel::span::content::{CONTENT_EVENT_KEYS, CONTENT_KEYS};
use serde_norway::{Mapping, Value};
use std::path::PathBuf;

/// Component types, by section, that the shipped configs may use (current names only: the
/// deprecated aliases `otlphttp`, `otlp` (exporter) and `loadbalancing` are refused).
const KINDS: [(&str, &str, &[&str]); 4] = [
    ("receivers", "receiver", &["otlp"]),
    ("processors", "processor", &["memory_limiter", "transform"]),
    (
        "exporters",
        "exporter",
        &["otlp_http", "otlp_grpc", "debug", "load_balancing"],
    ),
    ("extensions", "extension", &["file_storage"]),
];
/// The pipeline roles and the section each one draws from.
const ROLES: [(&str, &str, &str); 3] = [
    ("receivers", "receivers", "receiver"),
    ("processors", "processors", "processor"),
    ("exporters", "exporters", "exporter"),
];
/// codex-otel only emits traces.
const SIGNALS: [&str; 1] = ["traces"];
/// Braintrust refuses requests over 10 MB.
const BRAINTRUST_MAX_REQUEST_BYTES: u64 = 10_000_000;

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("otel-config/otelcol")
}

/// Every `*.yaml` under `otel-config/otelcol/`, with its text, sorted by name.
fn shipped_configs() -> Vec<(String, String)> {
    let mut configs: Vec<(String, String)> = std::fs::read_dir(config_dir())
        .expect("otel-config/otelcol")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("readable config"),
            )
        })
        .collect();
    configs.sort();
    configs
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(config_dir().join(name)).expect(name)
}

/// The leading `#` lines of a file.
fn header_comment(text: &str) -> String {
    let lines = text.lines().take_while(|line| line.starts_with('#'));
    lines.collect::<Vec<_>>().join("\n")
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|map| map.get(key))
}

/// The string keys of the mapping at `key` (empty when absent).
fn ids(root: &Value, key: &str) -> Vec<String> {
    get(root, key)
        .and_then(Value::as_mapping)
        .map(|map| {
            map.keys()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    let items = value.and_then(Value::as_sequence).map(Vec::as_slice);
    let items = items.unwrap_or_default().iter().filter_map(Value::as_str);
    items.map(str::to_owned).collect()
}

/// Every problem found in one config file (empty when it is consistent).
fn validate(text: &str) -> Vec<String> {
    let header = header_comment(text);
    let mut problems = Vec::new();
    if header.is_empty() {
        problems.push("no header comment saying what the file is for".to_owned());
    }
    let root: Value = match serde_norway::from_str(text) {
        Ok(root) => root,
        Err(err) => return vec![format!("not valid YAML: {err}")],
    };
    let Some(map) = root.as_mapping() else {
        return vec!["the top level is not a mapping".to_owned()];
    };
    check_sections(map, &mut problems);
    check_pipelines(&root, &mut problems);
    check_extensions(&root, &mut problems);
    check_env_references(&root, &header, &mut problems);
    problems
}

/// Known top-level sections and known component types in each.
fn check_sections(map: &Mapping, problems: &mut Vec<String>) {
    let allowed = [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "service",
    ];
    for key in map.keys() {
        let key = key.as_str().unwrap_or("?");
        if !allowed.contains(&key) {
            problems.push(format!("unknown top-level section `{key}`"));
        }
    }
    let root = Value::Mapping(map.clone());
    for (section, kind, known) in KINDS {
        for id in ids(&root, section) {
            let component_type = id.split('/').next().unwrap_or_default();
            if !known.contains(&component_type) {
                problems.push(format!(
                    "unknown {kind} type `{component_type}` (in `{id}`)"
                ));
            }
        }
    }
}

/// Pipelines reference only defined components; every defined one is used.
fn check_pipelines(root: &Value, problems: &mut Vec<String>) {
    let pipelines = get(root, "service").and_then(|s| get(s, "pipelines"));
    let Some(pipelines) = pipelines.and_then(Value::as_mapping) else {
        problems.push("no `service.pipelines`".to_owned());
        return;
    };
    let mut used: Vec<String> = Vec::new();
    for (id, pipeline) in pipelines {
        let id = id.as_str().unwrap_or("?");
        if !SIGNALS.contains(&id.split('/').next().unwrap_or_default()) {
            problems.push(format!("pipeline `{id}` is not a traces pipeline"));
        }
        for (role, section, kind) in ROLES {
            let names = strings(get(pipeline, role));
            if names.is_empty() && role != "processors" {
                problems.push(format!("pipeline `{id}` has no {role}"));
            }
            let defined = ids(root, section);
            for name in &names {
                if !defined.contains(name) {
                    problems.push(format!(
                        "pipeline `{id}` references undefined {kind} `{name}`"
                    ));
                }
                used.push(format!("{section}:{name}"));
            }
        }
        let processors = strings(get(pipeline, "processors"));
        if processors.first().map(String::as_str) != Some("memory_limiter") {
            problems.push(format!(
                "pipeline `{id}` does not start with memory_limiter"
            ));
        }
    }
    for (_, section, kind) in ROLES {
        for id in ids(root, section) {
            if !used.contains(&format!("{section}:{id}")) {
                problems.push(format!("{kind} `{id}` is defined but no pipeline uses it"));
            }
        }
    }
}

/// Extensions are defined, enabled in `service.extensions`, and every queue's `storage`
/// names an enabled one.
fn check_extensions(root: &Value, problems: &mut Vec<String>) {
    let defined = ids(root, "extensions");
    let enabled = strings(get(root, "service").and_then(|s| get(s, "extensions")));
    for name in &enabled {
        if !defined.contains(name) {
            problems.push(format!(
                "`service.extensions` names undefined extension `{name}`"
            ));
        }
    }
    for name in &defined {
        if !enabled.contains(name) {
            problems.push(format!("extension `{name}` is defined but not enabled"));
        }
    }
    for id in ids(root, "exporters") {
        let exporter = get(root, "exporters").and_then(|e| get(e, &id));
        let queue = exporter.and_then(|e| get(e, "sending_queue"));
        if let Some(storage) = queue.and_then(|q| get(q, "storage")) {
            let storage = storage.as_str().unwrap_or("?");
            if !enabled.iter().any(|name| name == storage) {
                problems.push(format!("exporter `{id}` stores its queue in `{storage}`, which is not an enabled extension"));
            }
        }
    }
}

/// Every `${…}` is an `${env:NAME}` or `${env:NAME:-default}` whose NAME the header documents.
fn check_env_references(root: &Value, header: &str, problems: &mut Vec<String>) {
    let mut scalars = Vec::new();
    collect_strings(root, &mut scalars);
    for text in scalars {
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                problems.push(format!("unterminated `${{` in {text:?}"));
                break;
            };
            let reference = &rest[start + 2..start + len];
            rest = &rest[start + len + 1..];
            let Some(spec) = reference.strip_prefix("env:") else {
                problems.push(format!(
                    "`${{{reference}}}` is not an `${{env:…}}` reference"
                ));
                continue;
            };
            let name = spec.split(":-").next().unwrap_or_default();
            let documented = header
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == name);
            if !documented {
                problems.push(format!("`{name}` is not documented in the header comment"));
            }
        }
    }
}

/// Every string scalar in the tree, keys included.
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Sequence(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Mapping(map) => {
            for (key, item) in map {
                collect_strings(key, out);
                collect_strings(item, out);
            }
        }
        Value::Tagged(tagged) => collect_strings(&tagged.value, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[test]
fn every_shipped_collector_config_is_consistent() {
    let configs = shipped_configs();
    let names: Vec<&str> = configs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["agent.yaml", "fanout.yaml", "gateway.yaml"]);
    for (name, text) in &configs {
        let problems = validate(text);
        assert!(problems.is_empty(), "{name}:\n  {}", problems.join("\n  "));
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with(&format!("# {name}: ")), "{name}: {first}");
    }
}

/// The exporter `id` of `config`.
fn exporter(config: &Value, id: &str) -> Value {
    let found = get(config, "exporters").and_then(|e| get(e, id));
    found
        .cloned()
        .unwrap_or_else(|| panic!("no exporter `{id}`"))
}

fn parse(name: &str) -> Value {
    serde_norway::from_str(&shipped(name)).expect(name)
}

#[test]
fn every_braintrust_exporter_authenticates_routes_and_stays_under_10_mb() {
    for name in ["agent.yaml", "fanout.yaml", "gateway.yaml"] {
        let braintrust = exporter(&parse(name), "otlp_http/braintrust");
        let endpoint = get(&braintrust, "endpoint")
            .and_then(Value::as_str)
            .unwrap();
        assert!(endpoint.ends_with("/otel"), "{name}: {endpoint}");
        let headers = get(&braintrust, "headers").unwrap();
        let auth = get(headers, "authorization")
            .and_then(Value::as_str)
            .unwrap();
        assert_eq!(auth, "Bearer ${env:BRAINTRUST_API_KEY}", "{name}");
        assert!(get(headers, "x-bt-parent").is_some(), "{name}");
        let queue = get(&braintrust, "sending_queue").unwrap();
        assert!(get(queue, "storage").is_some(), "{name}: persistent queue");
        let batch = get(queue, "batch").unwrap();
        assert_eq!(get(batch, "sizer").and_then(Value::as_str), Some("bytes"));
        let max = get(batch, "max_size").and_then(Value::as_u64).unwrap();
        assert!(
            max > 0 && max < BRAINTRUST_MAX_REQUEST_BYTES,
            "{name}: {max}"
        );
        let retry = get(&braintrust, "retry_on_failure").unwrap();
        assert_eq!(get(retry, "enabled").and_then(Value::as_bool), Some(true));
    }
}

#[test]
fn the_gateway_balances_by_trace_and_strips_exactly_codex_otels_content_keys() {
    let gateway = parse("gateway.yaml");
    let balancer = exporter(&gateway, "load_balancing");
    let routing = get(&balancer, "routing_key").and_then(Value::as_str);
    assert_eq!(routing, Some("traceID"));

    let transform = get(&gateway, "processors")
        .and_then(|p| get(p, "transform/strip_genai_content"))
        .unwrap();
    let groups = get(transform, "trace_statements").and_then(Value::as_sequence);
    let deleted = |context: &str| -> Vec<String> {
        let group = groups
            .unwrap()
            .iter()
            .find(|g| get(g, "context").and_then(Value::as_str) == Some(context));
        let statements = strings(group.and_then(|g| get(g, "statements")));
        let keys = statements.iter().filter_map(|s| {
            s.strip_prefix("delete_key(attributes, \"")?
                .strip_suffix("\")")
        });
        keys.map(str::to_owned).collect()
    };
    assert_eq!(deleted("span"), CONTENT_KEYS);
    assert_eq!(deleted("spanevent"), CONTENT_EVENT_KEYS);

    let pipelines = get(&gateway, "service")
        .and_then(|s| get(s, "pipelines"))
        .unwrap();
    let redacted = strings(get(pipelines, "traces/redacted").and_then(|p| get(p, "processors")));
    assert!(redacted.contains(&"transform/strip_genai_content".to_owned()));
    let full = strings(get(pipelines, "traces/braintrust").and_then(|p| get(p, "processors")));
    assert!(!full.contains(&"transform/strip_genai_content".to_owned()));
}

/// `shipped(name)` with `from` replaced by `to` (which must occur).
fn mutated(name: &str, from: &str, to: &str) -> String {
    let text = shipped(name);
    assert!(text.contains(from), "{name} has no {from:?}");
    text.replacen(from, to, 1)
}

fn assert_found(problems: &[String], expected: &str) {
    assert!(
        problems.iter().any(|p| p == expected),
        "expected {expected:?} among {problems:#?}"
    );
}

#[test]
fn the_validator_fails_on_a_pipeline_referencing_an_undefined_exporter() {
    let text = mutated(
        "agent.yaml",
        "exporters: [otlp_http/braintrust]",
        "exporters: [otlp_http/braintrust, otlp_http/nowhere]",
    );
    let problems = validate(&text);
    assert_found(
        &problems,
        "pipeline `traces` references undefined exporter `otlp_http/nowhere`",
    );
}

#[test]
fn the_validator_fails_on_unused_unknown_and_undocumented_components() {
    let unused = mutated("fanout.yaml", ", otlp_http/phoenix, debug]", ", debug]");
    assert_found(
        &validate(&unused),
        "exporter `otlp_http/phoenix` is defined but no pipeline uses it",
    );
    let legacy = shipped("agent.yaml").replace("otlp_http/braintrust", "otlphttp/braintrust");
    assert_found(
        &validate(&legacy),
        "unknown exporter type `otlphttp` (in `otlphttp/braintrust`)",
    );
    let undocumented = mutated(
        "agent.yaml",
        "${env:BRAINTRUST_API_KEY}",
        "${env:SOME_SECRET}",
    );
    assert_found(
        &validate(&undocumented),
        "`SOME_SECRET` is not documented in the header comment",
    );
    let bare = mutated(
        "agent.yaml",
        "${env:BRAINTRUST_API_KEY}",
        "${BRAINTRUST_API_KEY}",
    );
    assert_found(
        &validate(&bare),
        "`${BRAINTRUST_API_KEY}` is not an `${env:…}` reference",
    );
    let storage = mutated(
        "agent.yaml",
        "storage: file_storage/queue",
        "storage: file_storage/gone",
    );
    assert_found(
        &validate(&storage),
        "exporter `otlp_http/braintrust` stores its queue in `file_storage/gone`, which is not an enabled extension",
    );
    let broken = mutated("gateway.yaml", "receivers:\n", "receivers:\n  - [\n");
    assert!(validate(&broken)[0].starts_with("not valid YAML"));
}
