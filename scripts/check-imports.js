#!/usr/bin/env node
// Fails when a package imports the wrong way (see ARCHITECTURE.md, "Packages", and RULES below):
//   core (the plugin SDK, core/sdk) imports no workspace package; the engine (core/engine) imports
//   only the SDK; adapters import only core; a plugin imports core and adapters, never the engine
//   nor another plugin; nothing but the test kit and the tools (test/*) imports host;
//   the host imports neither; no relative import reaches into another package. Checks source
//   imports, require('…'), require.resolve('…'), import('…') and package.json dependencies alike,
//   and refuses a module name that is not a string literal (require(x), require.resolve([a, b].join('/')),
//   a template literal with an expression) unless it is on COMPUTED_ALLOWED with a reason.
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

/** The layer of a workspace folder: core, adapter, plugin, host, test-kit (test/kit) or tool (the other test/* packages). */
function layer(dir) {
  if (dir === 'core' || dir === 'core/sdk') return 'core';
  if (dir === 'core/engine') return 'engine';
  if (dir === 'host') return 'host';
  if (dir === 'test/kit') return 'test-kit';
  if (dir.startsWith('test/')) return 'tool';
  if (dir.startsWith('adapters/')) return 'adapter';
  if (dir.startsWith('plugins/')) return 'plugin';
  return 'other';
}

/**
 * Who may not import whom, first match wins. `from` and `to` list layers (see layer()) or package
 * names; '*' is any workspace package; `except` lists what a rule lets through. A package importing itself is always allowed. What no rule
 * refuses is allowed: the test kit and the tools (generator, simulators, demo, bench) may import the
 * host, core, the adapters and one another.
 */
const RULES = [
  { from: ['core'], to: ['*'], why: 'core imports no workspace package' },
  { from: ['plugin'], to: ['engine'], why: 'a plugin does not import the engine (@rosterbridge/engine); it sees the SDK, @rosterbridge/core' },
  { from: ['adapter'], to: ['engine'], why: 'an adapter does not import the engine (@rosterbridge/engine); it sees the SDK, @rosterbridge/core' },
  { from: ['engine'], to: ['*'], except: ['core'], why: 'the engine imports only the SDK (@rosterbridge/core)' },
  { from: ['adapter', 'plugin'], to: ['host'], why: 'nothing imports host (only the test kit and the tools drive it)' },
  { from: ['adapter'], to: ['adapter', 'plugin', 'test-kit', 'tool'], why: 'an adapter imports only core' },
  { from: ['plugin'], to: ['plugin'], why: 'a plugin never imports another plugin (use its exported API through the registry)' },
  { from: ['plugin'], to: ['test-kit', 'tool'], why: 'a plugin does not import the test kit or the tools outside its tests' },
  {
    from: ['host'],
    to: ['test-kit', 'tool'],
    why: "the host imports neither the test kit nor the tools (it launches a tool's declared bin as a child process)",
  },
];

/**
 * Calls whose module name is not a string literal, allowed with a reason: `file` is the file's name
 * (any folder, so that a move keeps its entry) and `call` the call as written.
 */
const COMPUTED_ALLOWED = [
  {
    file: 'plugin-registry.ts',
    call: 'require(entry)',
    why: "loads a discovered plugin's entry file by its path, not a workspace package by name",
  },
  {
    file: 'plugin-host-services.ts',
    call: 'require(entry)',
    why: "loads an in-process plugin's entry file by its path (the host's loadModule, which may answer a worker's stand-in instead)",
  },
  {
    file: 'plugin-worker.ts',
    call: 'require(path.resolve(data.main))',
    why: "loads a worker plugin's entry file by its path, inside the worker thread",
  },
];

const matches = (patterns, pkg) => patterns.some((p) => p === '*' || p === layer(pkg.dir) || p === pkg.name);
const excepted = (rule, pkg) => (rule.except ?? []).some((p) => p === layer(pkg.dir) || p === pkg.name);

/** Why `from` may not import `to`, or null when allowed. */
function violation(from, to) {
  if (from === to) return null;
  const rule = RULES.find((r) => matches(r.from, from) && matches(r.to, to) && !excepted(r, to));
  return rule ? rule.why : null;
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

const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s+['"]([^'"]+)['"]/g;
/** require('…'), require.resolve('…') and import('…'): the module name is the first argument. */
const CALL = /(?<![\w$.])(require\.resolve|require|import)\s*\(\s*/g;

/**
 * Every module named in `text`: { spec, index } for a string literal (or a template literal without
 * an expression), { computed, index } for a call whose first argument is anything else. Lines that
 * are comments are skipped.
 */
function moduleNames(text) {
  const found = [];
  for (const m of text.matchAll(SPECIFIER)) found.push({ spec: m[1] ?? m[2], index: m.index });
  for (const m of text.matchAll(CALL)) {
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    const before = text.slice(lineStart, m.index).trim();
    if (before.startsWith('//') || before.startsWith('*') || before.startsWith('/*')) continue;
    const at = m.index + m[0].length;
    const quote = text[at];
    const close = quote === "'" || quote === '"' || quote === '`' ? text.indexOf(quote, at + 1) : -1;
    const literal = close > at ? text.slice(at + 1, close) : undefined;
    if (literal !== undefined && !/\n/.test(literal) && !(quote === '`' && literal.includes('${'))) {
      found.push({ spec: literal, index: m.index });
    } else {
      let end = at;
      for (let depth = 0; end < text.length && end < at + 200; end++) {
        if (text[end] === '(') depth++;
        else if (text[end] === ')' && depth-- === 0) break;
      }
      found.push({ computed: `${m[1]}(${text.slice(at, end).trim()})`, index: m.index });
    }
  }
  return found;
}

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
    for (const { spec, computed, index } of moduleNames(text)) {
      const line = text.slice(0, index).split('\n').length;
      if (computed !== undefined) {
        const allowed = COMPUTED_ALLOWED.some((a) => a.file === path.basename(file) && a.call === computed);
        if (!allowed)
          problems.push(
            `${rel}:${line} ${computed}: a module name must be a string literal (or be on COMPUTED_ALLOWED in scripts/check-imports.js, with a reason)`,
          );
        continue;
      }
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
