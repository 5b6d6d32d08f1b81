//! `fedproof data …`: the digits data set as CSV files.

pub mod split;

use clap::Subcommand;

/// Data commands.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Write `test.csv` and `trainer-<i>.csv` (64 pixels in 0..=16 and a label per line).
    Split(split::SplitArgs),
}

impl DataCommand {
    /// Runs a data command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            DataCommand::Split(args) => args.run(),
        }
    }
}
