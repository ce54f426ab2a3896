//! The OTLP resource every destination sends: who produced the spans.
//!
//! Attributes, later sources winning: `service.version` (this crate) and `host.name` (the
//! machine), the config file's `[resource]` table, `OTEL_RESOURCE_ATTRIBUTES`. `service.name`
//! is `OTEL_SERVICE_NAME`, else a `service.name` attribute from those sources, else `codex`.

use super::env;
use super::values;
use super::{ConfigError, Vars};
use crate::export::convert::{HOST_NAME, SERVICE_NAME};
use crate::export::ResourceConfig;
use std::collections::BTreeMap;

/// Resolves the resource from the environment and the file's `[resource]` table.
pub(super) fn resource(
    vars: Vars<'_>,
    file_attributes: &BTreeMap<String, String>,
) -> Result<ResourceConfig, ConfigError> {
    let mut config = ResourceConfig::default();
    if let Some(host) = host_name() {
        config.attributes.insert(HOST_NAME.to_owned(), host);
    }
    config.attributes.extend(file_attributes.clone());
    if let Some(text) = vars(env::OTEL_RESOURCE_ATTRIBUTES) {
        let attributes = values::key_values(&text).map_err(|source| ConfigError::Invalid {
            setting: env::OTEL_RESOURCE_ATTRIBUTES.to_owned(),
            source,
        })?;
        config.attributes.extend(attributes);
    }
    if let Some(name) = config.attributes.remove(SERVICE_NAME) {
        config.service_name = name;
    }
    if let Some(name) = vars(env::OTEL_SERVICE_NAME) {
        config.service_name = name;
    }
    Ok(config)
}

/// This machine's host name, if the system reports one.
fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the pointer and length describe `buffer`, which outlives the call; gethostname
    // writes at most `len` bytes into it.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_service_name_wins_over_attributes_and_the_file() {
        let vars = |key: &str| match key {
            env::OTEL_SERVICE_NAME => Some("from-env".to_owned()),
            env::OTEL_RESOURCE_ATTRIBUTES => Some("service.name=attr,team=a%20b".to_owned()),
            _ => None,
        };
        let file = BTreeMap::from([
            ("service.name".to_owned(), "file".to_owned()),
            ("team".to_owned(), "file-team".to_owned()),
            ("tier".to_owned(), "gold".to_owned()),
        ]);
        let config = resource(&vars, &file).expect("valid");
        assert_eq!(config.service_name, "from-env");
        assert_eq!(config.attributes["team"], "a b");
        assert_eq!(config.attributes["tier"], "gold");
        assert!(!config.attributes.contains_key("service.name"));
    }

    #[test]
    fn defaults_are_codex_this_version_and_the_host() {
        let config = resource(&|_: &str| None, &BTreeMap::new()).expect("valid");
        assert_eq!(config.service_name, "codex");
        assert_eq!(
            config.attributes["service.version"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(config.attributes.get(HOST_NAME), host_name().as_ref());
    }

    #[test]
    fn a_service_name_attribute_is_used_without_otel_service_name() {
        let vars = |key: &str| {
            (key == env::OTEL_RESOURCE_ATTRIBUTES).then(|| "service.name=svc".to_owned())
        };
        assert_eq!(
            resource(&vars, &BTreeMap::new())
                .expect("valid")
                .service_name,
            "svc"
        );
    }

    #[test]
    fn malformed_resource_attributes_name_the_variable() {
        let vars = |key: &str| (key == env::OTEL_RESOURCE_ATTRIBUTES).then(|| "oops".to_owned());
        assert!(matches!(
            resource(&vars, &BTreeMap::new()),
            Err(ConfigError::Invalid { setting, .. }) if setting == env::OTEL_RESOURCE_ATTRIBUTES
        ));
    }
}
