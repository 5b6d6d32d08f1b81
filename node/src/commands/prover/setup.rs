//! `fedproof prover setup`: run (or load cached) Groth16 setup for a shape.

use clap::Args;
use fedproof_prover::keys::KeyKind;
use rand::rngs::OsRng;

use crate::commands::args::{KeysArgs, OutputArgs, ShapeArgs};

/// Options of `fedproof prover setup`.
#[derive(Args)]
pub struct SetupArgs {
    #[command(flatten)]
    shape: ShapeArgs,
    #[command(flatten)]
    keys: KeysArgs,
    #[command(flatten)]
    output: OutputArgs,
}

impl SetupArgs {
    /// Sets up or loads the keys and prints where they are.
    pub fn run(self) -> anyhow::Result<()> {
        let shape = self.shape.shape()?;
        let store = self.keys.store();
        let keys = store.load_or_setup(shape, &mut OsRng)?;
        let (proving, verifying) = (store.path(shape, KeyKind::Proving), store.path(shape, KeyKind::Verifying));
        let summary = serde_json::json!({
            "trainers": shape.trainers,
            "params": shape.params,
            "generated": keys.generated,
            "seconds": keys.seconds,
            "proving_key": proving,
            "verifying_key": verifying,
        });
        self.output.print(&summary, || {
            format!(
                "{} keys for {shape} in {:.1} s\n  proving key   {}\n  verifying key {}",
                if keys.generated { "generated" } else { "loaded" },
                keys.seconds,
                proving.display(),
                verifying.display()
            )
        })
    }
}
