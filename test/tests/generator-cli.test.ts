import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { DISTRICT_SIZES, generateDistrict, writeOneRosterPackage } from '@rosterbridge/test-kit';

const CLI = resolve(__dirname, '../generator/dist/cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'rb-generator-cli-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

t.test('writes a bulk package and prints the rows per file', async (t) => {
  const out = join(scratch, 'bulk');
  const r = run('--seed', '42', '--size', 'tiny', '--out', out, '--faults', 'all');
  t.equal(r.status, 0, r.stderr);
  const tiny = DISTRICT_SIZES.tiny;
  t.match(r.stdout, new RegExp(`users\\.csv\\s+${tiny.students + tiny.teachers + tiny.staff + tiny.guardians}\\n`));
  t.match(r.stdout, new RegExp(`enrollments\\.csv\\s+${tiny.enrollments}\\n`));
  t.match(r.stdout, /faults: duplicateEmails 1, missingEmails 1, studentsWithTwoGrades 1, classesOutsideCourseGrades 1/);
  // The CLI's seed 42 is the API's seed 42.
  const api = join(scratch, 'api');
  await writeOneRosterPackage(generateDistrict({ seed: 42, size: 'tiny', faults: 'all' }), api);
  for (const file of readdirSync(api)) t.ok(readFileSync(join(out, file)).equals(readFileSync(join(api, file))), `${file} as the API writes it`);
});

t.test('writes the earlier bulk, the delta and the changed bulk', async (t) => {
  const out = join(scratch, 'delta');
  const r = run('--seed', '7', '--size', 'small', '--out', out, '--delta-from-seed', '42', '--fraction', '0.02', '--no-demographics');
  t.equal(r.status, 0, r.stderr);
  t.same(readdirSync(out).sort(), ['bulk', 'changed-bulk', 'delta']);
  t.match(readFileSync(join(out, 'delta', 'manifest.csv'), 'utf8'), /file\.users,delta\r\n/);
  t.match(readFileSync(join(out, 'delta', 'manifest.csv'), 'utf8'), /file\.demographics,absent\r\n/);
  t.match(r.stdout, /changes: \d+ of \d+ records selected \(fraction 0\.02\)/);
  const bulkUsers =
    readFileSync(join(out, 'bulk', 'users.csv'), 'utf8')
      .trim()
      .split('\r\n').length - 1;
  t.equal(bulkUsers, generateDistrict({ seed: 42, size: 'small' }).counts.users, 'the earlier district is seed 42');
  const skipped = join(scratch, 'delta-only');
  t.equal(run('--seed', '7', '--size', 'tiny', '--out', skipped, '--delta-from-seed', '42', '--no-changed-bulk').status, 0);
  t.same(readdirSync(skipped).sort(), ['bulk', 'delta']);
});

t.test('bad arguments exit 2 with a message; --help exits 0', async (t) => {
  const unknown = run('--seed', '1', '--out', join(scratch, 'x'), '--colour');
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown option "--colour"/);
  const noOut = run('--seed', '1');
  t.equal(noOut.status, 2);
  t.match(noOut.stderr, /--out is required/);
  const badSize = run('--seed', '1', '--size', 'huge', '--out', join(scratch, 'y'));
  t.equal(badSize.status, 2);
  t.match(badSize.stderr, /unknown district size "huge"/);
  t.notOk(existsSync(join(scratch, 'y')), 'nothing written');
  const badFault = run('--seed', '1', '--faults', 'typo', '--out', join(scratch, 'z'));
  t.equal(badFault.status, 2);
  t.match(badFault.stderr, /unknown fault "typo"/);
  const help = run('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, /--delta-from-seed/);
});
