//! `bridle case ...`.

use crate::ExitCode;
use crate::args::CaseCommand;
use anyhow::Result;

pub fn run(_cmd: CaseCommand) -> Result<ExitCode> {
    anyhow::bail!("the case store is being written")
}
