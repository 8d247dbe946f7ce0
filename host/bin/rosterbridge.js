#!/usr/bin/env node
'use strict';
// The `rosterbridge` command. It is committed, not built: npm links a workspace's bin into
// node_modules/.bin only if the file exists when `npm ci` runs, which is before any build. It runs
// the built CLI (dist/cli/main.js); in a checkout not built yet it builds the checkout once first
// (`npm run build`), saying so on stderr, whether or not npm ran install scripts.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');

if (!existsSync(main)) {
  const root = path.join(__dirname, '..', '..');
  const solution = path.join(root, 'tsconfig.json');
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    tsc = undefined;
  }
  if (!existsSync(path.join(__dirname, '..', 'src', 'cli', 'main.ts')) || !existsSync(solution) || !tsc) {
    process.stderr.write(`rosterbridge: ${main} is missing and this is no checkout to build it in (run \`npm run build\` where the sources are)\n`);
    process.exit(1);
  }
  process.stderr.write('rosterbridge: first use of this checkout: building it once (npm run build) …\n');
  const build = spawnSync(process.execPath, [tsc, '-b', solution], { cwd: root, stdio: ['ignore', 2, 2] });
  if (build.status !== 0 || !existsSync(main)) {
    process.stderr.write(`rosterbridge: the build failed (exit ${build.status ?? build.signal}); run \`npm run build\` in ${root} to see why\n`);
    process.exit(1);
  }
  process.stderr.write('rosterbridge: built\n');
}

require(main);
