#!/usr/bin/env node
'use strict';
// The `rosterbridge-simulate` command of @rosterbridge/simulators. Committed, not built: npm links a workspace's bin into node_modules/.bin
// only if the file exists when `npm ci` runs, which is before any build. It runs the built dist/oneroster/cli.js.
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist/oneroster/cli.js');
if (!existsSync(main)) {
  process.stderr.write(`rosterbridge-simulate: ${main} is missing: run \`npm run build\` in the checkout first\n`);
  process.exit(1);
}
require(main);
