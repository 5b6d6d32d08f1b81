//! Replays every committed corpus input (`corpus/<target>/*`) and every input that once crashed
//! a target (`crashes/<target>/*`, kept apart so that minimising a corpus never drops them)
//! through its target function, so `cargo test` (and `make test`) runs what the fuzzers found; a
//! target without a corpus fails.

use std::path::Path;

use fedproof_fuzz::Target;

/// Runs each input of `target` under `kind` (`corpus` or `crashes`); returns how many there were.
fn replay(kind: &str, target: &str, run: Target) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{} is missing: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a corpus entry").path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // a fuzzer running on this corpus replaces inputs with smaller ones as it goes
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{target} panics on {}", path.display());
        count += 1;
    }
    assert!(count > 0, "{} is empty", dir.display());
    count
}

#[test]
fn every_target_replays_its_corpus() {
    for (target, run) in fedproof_fuzz::TARGETS {
        let count = replay("corpus", target, *run);
        println!("{target}: {count} inputs");
    }
}

#[test]
fn every_crash_found_stays_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes");
    for entry in std::fs::read_dir(&root).expect("node/fuzz/crashes") {
        let name = entry.expect("a crashes directory").file_name().to_string_lossy().into_owned();
        let (target, run) = fedproof_fuzz::TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("crashes/{name} has no target"));
        let count = replay("crashes", target, *run);
        println!("{target}: {count} former crashes");
    }
}

#[test]
fn every_corpus_directory_is_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for entry in std::fs::read_dir(&root).expect("node/fuzz/corpus") {
        let name = entry.expect("a corpus directory").file_name().to_string_lossy().into_owned();
        assert!(fedproof_fuzz::TARGETS.iter().any(|(t, _)| *t == name), "corpus/{name} has no target");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("cargo-fuzz/fuzz_targets").join(format!("{name}.rs"));
        assert!(source.exists(), "{} is missing", source.display());
    }
}
