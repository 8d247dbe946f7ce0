#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { errorMessage, isRosterbridgeError } from '@rosterbridge/core';
import { configCheck } from './config-check';
import { listPlugins } from './plugins-command';
import { launchSimulator } from './simulate-command';
import { listTenants } from './tenants-command';
import { startHost } from './start-command';
import { ROSTERBRIDGE_VERSION } from '../version';

const program = new Command()
  .name('rosterbridge')
  .description('Moves school rosters from SIS sources into product schemas.')
  .version(ROSTERBRIDGE_VERSION)
  .option('-c, --config <file>', 'host config file (JSON); env vars RB_* override it');

program
  .command('start')
  .description('start the host: database, plugins, tenants, control API')
  .action(async () => startHost({ configFile: program.opts().config }));

program
  .command('plugins')
  .description('list plugins: live states from a running host (--url), or manifests found on disk')
  .option('--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN')
  .option('--json', 'print JSON')
  .action(async (opts: { url?: string; json?: boolean }) => listPlugins({ configFile: program.opts().config, url: opts.url ?? process.env.RB_URL, json: opts.json === true }));

program
  .command('tenants')
  .description('list tenants with their effective config, secrets redacted')
  .option('--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN')
  .option('--json', 'print JSON')
  .action(async (opts: { url?: string; json?: boolean }) => listTenants({ configFile: program.opts().config, url: opts.url ?? process.env.RB_URL, json: opts.json === true }));

program
  .command('config')
  .description('configuration tools')
  .command('check')
  .description('validate host config, plugin manifests and tenant files without starting anything')
  .action(async () => {
    process.exitCode = await configCheck({ configFile: program.opts().config });
  });

program
  .command('simulate')
  .description('start the ClassLink-like OneRoster 1.1 simulator for a tenant to point at (ships with the test kit; simulate --help lists its options)')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[options...]', 'passed to the simulator')
  .action(async (args: string[]) => {
    process.exitCode = await launchSimulator(args);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`rosterbridge: ${isRosterbridgeError(err) ? `${err.code}: ` : ''}${errorMessage(err)}\n`);
  process.exitCode = 1;
});
