// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../package.json') as { version: string };

/** The running Rosterbridge version; plugins' `engines.rosterbridge` is checked against it. */
export const ROSTERBRIDGE_VERSION: string = pkg.version;
