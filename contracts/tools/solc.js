#!/usr/bin/env node
// A `solc` executable for forge over the npm `solc` package (solcjs): it
// answers `--version` the way native solc does and compiles
// `--standard-json` from stdin, resolving imports against the base and
// include paths forge passes. Nothing else is supported.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '..', '..', '.tools', 'node_modules', 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version')) {
  const v = solc.version().replace('.Emscripten.clang', '');
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${v}.Linux.g++\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc.js: only --version and --standard-json are supported\n');
  process.exit(2);
}
const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--base-path' || args[i] === '--include-path' || args[i] === '--allow-paths') {
    for (const p of (args[i + 1] || '').split(',')) if (p) roots.push(p);
    i++;
  }
}
roots.push(process.cwd());
function findImports(p) {
  for (const r of [''].concat(roots)) {
    const full = r ? path.resolve(r, p) : path.resolve(p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: `File not found: ${p}` };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
