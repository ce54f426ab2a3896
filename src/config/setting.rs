//! One setting's value, parsed, with errors that name the setting: [`parse`] for a value from
//! one source, [`resolve`] for the first of the environment's value and the file's.

use super::values::ValueError;
use super::ConfigError;

/// Parses `value` for `setting`, naming the setting on error.
pub(super) fn parse<T>(
    setting: &str,
    value: &str,
    parser: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<T, ConfigError> {
    parser(value).map_err(|source| ConfigError::Invalid {
        setting: setting.to_owned(),
        source,
    })
}

/// The first of the environment value and the file value, parsed.
pub(super) fn resolve<T>(
    from_env: Option<(&'static str, String)>,
    from_file: Option<(String, &str)>,
    parser: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, ConfigError> {
    match (from_env, from_file) {
        (Some((setting, value)), _) => parse(setting, &value, parser).map(Some),
        (None, Some((setting, value))) => parse(&setting, value, parser).map(Some),
        (None, None) => Ok(None),
    }
}
