#!/usr/bin/env node
// A `solc` executable for forge, backed by the npm `solc` package (solc-js, WebAssembly).
//
// Why: forge normally downloads native solc binaries from binaries.soliditylang.org, which is
// not reachable here. `forge --use ./solc.js` (or `solc = "./solc.js"` in foundry.toml) makes
// forge run this script instead, so the compiler is the one pinned in package-lock.json.
//
// forge talks to solc in two ways, and this script answers both:
// - `solc --version`: forge takes the last non-empty line of stdout, strips a leading
//   "Version: " and parses the rest as semver, so we print `Version: <solc.version()>`.
// - `solc [flags] --standard-json`: standard JSON input on stdin, standard JSON output on
//   stdout. The flags (--base-path, --allow-paths, --include-path) are for the native binary's
//   file loader; solc-js has none, so imports are resolved by `findImports` below instead.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write(
    `solc.js: only --version and --standard-json are supported (got: ${args.join(' ') || 'no arguments'})\n`,
  );
  process.exit(2);
}

// forge sends every source's content inline, so this is a fallback for sources it left out:
// look the import up under the project root, then under node_modules (like `libs`).
const roots = [__dirname, path.join(__dirname, 'node_modules')];
function findImports(importPath) {
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    // Never read outside the project: an import path is untrusted input to this script.
    if (!candidate.startsWith(__dirname + path.sep)) continue;
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: `solc.js: import not found under ${roots.join(' or ')}: ${importPath}` };
}

const input = fs.readFileSync(0, 'utf8');
// solc-js reports compiler errors inside the JSON output, as native solc does, so the exit
// code stays 0 and forge reads the errors from the output.
process.stdout.write(solc.compile(input, { import: findImports }));
