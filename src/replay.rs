//! (Being built.)

/// Entry point of the command.
pub fn main(_args: &crate::cli::ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
