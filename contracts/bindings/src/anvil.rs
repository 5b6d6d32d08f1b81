//! Where Foundry's anvil from npm really is. `contracts/node_modules/.bin/anvil` is a node script
//! that spawns the platform's binary and forwards SIGINT and SIGTERM to it, but alloy's
//! `AnvilInstance` stops what it spawned with SIGKILL, which the script cannot forward: the
//! binary would keep running. So whoever spawns anvil runs the binary itself.

use std::path::{Path, PathBuf};

/// The platform binary behind npm's `…/node_modules/.bin/anvil` (its package
/// `@foundry-rs/anvil-<os>-<arch>`), or `path` itself when it is not that script.
pub fn native_anvil(path: &Path) -> PathBuf {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        arch => arch,
    };
    let modules = path.parent().filter(|bin| bin.ends_with(".bin")).and_then(Path::parent);
    modules
        .map(|modules| modules.join(format!("@foundry-rs/anvil-{os}-{arch}/bin/anvil")))
        .filter(|binary| binary.is_file())
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_npm_script_resolves_to_the_platform_binary() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/.bin/anvil");
        // `make test` installs the npm packages first.
        assert!(script.exists(), "{} is missing: run `make contracts-deps`", script.display());
        let binary = native_anvil(&script);
        assert_ne!(binary, script);
        assert!(binary.ends_with("bin/anvil") && binary.is_file(), "{}", binary.display());
        let other = Path::new("/usr/local/bin/anvil");
        assert_eq!(native_anvil(other), other);
    }
}
