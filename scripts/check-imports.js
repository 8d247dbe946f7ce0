#!/usr/bin/env node
// Fails when a package imports the wrong way (see ARCHITECTURE.md, "Packages"):
//   core (the plugin SDK, core/sdk) imports no workspace package; the engine (core/engine) imports
//   only the SDK; adapters import only core; a plugin imports core and adapters, never the engine nor
//   another plugin; nothing but the test kit imports host; no relative import
//   reaches into another package. Checks source imports and package.json dependencies alike.
// Usage: node scripts/check-imports.js [repo root]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function expand(pattern) {
  if (!pattern.endsWith('/*')) return [pattern];
  const dir = path.join(root, pattern.slice(0, -2));
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `${pattern.slice(0, -2)}/${e.name}`);
}

const packages = rootPkg.workspaces
  .flatMap(expand)
  .filter((dir) => fs.existsSync(path.join(root, dir, 'package.json')))
  .map((dir) => ({
    dir,
    name: JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')).name,
    pkg: JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')),
  }));
const byName = new Map(packages.map((p) => [p.name, p]));

function layer(dir) {
  if (dir === 'core' || dir === 'core/sdk') return 'core';
  if (dir === 'core/engine') return 'engine';
  if (dir === 'host') return 'host';
  if (dir === 'test') return 'test';
  if (dir.startsWith('adapters/')) return 'adapter';
  if (dir.startsWith('plugins/')) return 'plugin';
  return 'other';
}

/** Why `from` may not import `to`, or null when allowed. */
function violation(from, to) {
  const a = layer(from.dir);
  const b = layer(to.dir);
  if (from === to) return null;
  if (a === 'core') return 'core imports no workspace package';
  if (b === 'engine' && (a === 'plugin' || a === 'adapter'))
    return `${a === 'plugin' ? 'a plugin' : 'an adapter'} does not import the engine (@rosterbridge/engine); it sees the SDK, @rosterbridge/core`;
  if (a === 'engine' && b !== 'core') return 'the engine imports only the SDK (@rosterbridge/core)';
  if (b === 'host' && a !== 'test') return 'nothing imports host (only the test kit drives it)';
  if (a === 'adapter' && b !== 'core') return 'an adapter imports only core';
  if (a === 'plugin' && b === 'plugin') return 'a plugin never imports another plugin (use its exported API through the registry)';
  if (a === 'plugin' && b === 'test') return 'a plugin does not import the test kit outside its tests';
  if ((a === 'core' || a === 'adapter' || a === 'host') && b === 'test') return `${a} does not import the test kit`;
  return null;
}

function sourceFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.(ts|tsx|js|cjs|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(full);
    }
  };
  for (const sub of ['src']) if (fs.existsSync(path.join(dir, sub))) walk(path.join(dir, sub));
  return out;
}

const SPECIFIER =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
const problems = [];

for (const from of packages) {
  const base = path.join(root, from.dir);
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    for (const dep of Object.keys(from.pkg[field] ?? {})) {
      const to = byName.get(dep);
      const why = to && violation(from, to);
      if (why) problems.push(`${from.dir}/package.json ${field}.${dep}: ${why}`);
    }
  }
  for (const file of sourceFiles(base)) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(root, file);
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      const line = text.slice(0, m.index).split('\n').length;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (!target.startsWith(base + path.sep))
          problems.push(`${rel}:${line} imports "${spec}": a relative import must stay inside its package; import the package by name`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const to = byName.get(name);
      if (!to) continue;
      const why = violation(from, to);
      if (why) problems.push(`${rel}:${line} imports "${spec}": ${why}`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`import check failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`import check passed: ${packages.length} packages\n`);
