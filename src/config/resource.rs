//! The OTLP resource every destination sends: who produced the spans.
//!
//! Attributes, later sources winning: `service.version` (this crate), `host.name` (the
//! machine) and `user.name` (the login running codex-otel, from the user database, else
//! `$USER` or `$LOGNAME`), the config file's `[resource]` table, `OTEL_RESOURCE_ATTRIBUTES`.
//! An empty value removes an attribute (`OTEL_RESOURCE_ATTRIBUTES=user.name=` keeps the login
//! out). `service.name` is `OTEL_SERVICE_NAME`, else a `service.name` attribute from those
//! sources, else `codex`.
//!
//! `user.name` is the semantic conventions' "short name or login/username of the user"
//! (`enduser.id` is deprecated in favour of `user.id`, which is meant for an application's
//! account id, not a machine login).

use super::env;
use super::values;
use super::{ConfigError, Vars};
use crate::export::convert::{HOST_NAME, SERVICE_NAME, USER_NAME};
use crate::export::ResourceConfig;
use std::collections::BTreeMap;
use std::ffi::CStr;

/// Resolves the resource from the environment and the file's `[resource]` table.
pub(super) fn resource(
    vars: Vars<'_>,
    file_attributes: &BTreeMap<String, String>,
) -> Result<ResourceConfig, ConfigError> {
    let mut config = ResourceConfig::default();
    if let Some(host) = host_name() {
        config.attributes.insert(HOST_NAME.to_owned(), host);
    }
    if let Some(user) = os_user_name().or_else(|| vars("USER").or_else(|| vars("LOGNAME"))) {
        config.attributes.insert(USER_NAME.to_owned(), user);
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
    config.attributes.retain(|_, value| !value.is_empty());
    if config.service_name.is_empty() {
        config.service_name = ResourceConfig::default().service_name;
    }
    Ok(config)
}

/// The login name of the effective user, from the user database.
fn os_user_name() -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: `passwd` is plain old data that getpwuid_r fills in; all-zero is a valid value.
    let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to a live local of the stated size; on success getpwuid_r
    // points `found` at `passwd`, whose strings point into `buffer`, both alive below.
    let status = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut passwd,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || passwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name is a NUL-terminated string inside `buffer`.
    let name = unsafe { CStr::from_ptr(passwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    (!name.is_empty()).then_some(name)
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
    fn the_user_is_the_login_and_an_empty_value_removes_an_attribute() {
        let vars = |key: &str| (key == "USER").then(|| "from-env".to_owned());
        let config = resource(&vars, &BTreeMap::new()).expect("valid");
        let expected = os_user_name().unwrap_or_else(|| "from-env".to_owned());
        assert_eq!(config.attributes.get(USER_NAME), Some(&expected));
        let vars = |key: &str| {
            (key == env::OTEL_RESOURCE_ATTRIBUTES).then(|| "user.name=,host.name=".to_owned())
        };
        let config = resource(&vars, &BTreeMap::new()).expect("valid");
        assert!(!config.attributes.contains_key(USER_NAME), "{config:?}");
        assert!(!config.attributes.contains_key(HOST_NAME), "{config:?}");
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
