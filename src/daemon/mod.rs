//! (Being built.)

/// Entry point of the command.
pub fn main(_args: &crate::cli::DaemonArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
