import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { writeOneRosterPackage } from '@rosterbridge/test-kit';
import { runSourceConformance } from '../kit/src/conformance';

const dir = () => mkdtempSync(path.join(tmpdir(), 'rb-conformance-csv-'));

t.test('the oneroster-csv source conforms', (t) =>
  runSourceConformance(t, {
    sourceId: 'oneroster-csv',
    // A bulk file carries no dateLastModified (OneRoster CSV leaves it blank in bulk mode).
    expectRecord: (_entity, record, mode) => (mode === 'full' ? { ...record, dateLastModified: undefined } : record),
    serve: async (roster) => ({ location: (await writeOneRosterPackage(roster, dir())).directory }),
    badLocation: async () => [{ location: '/nonexistent/drop/oneroster.zip' }, { location: '/nonexistent/drop/folder' }],
    serveChange: async (changed) => ({ location: (await writeOneRosterPackage(changed.delta, dir(), { mode: 'delta' })).directory }),
    dieMidRead: async (roster) => {
      // A transfer cut off part-way: users.csv ends in the middle of a row; a zip loses its tail.
      const cut = await writeOneRosterPackage(roster, dir(), { zip: true });
      const users = path.join(cut.directory, 'users.csv');
      const text = readFileSync(users, 'utf8');
      writeFileSync(users, text.slice(0, text.indexOf('\n', Math.floor(text.length * 0.6)) - 5));
      const zip = readFileSync(cut.zipFile!);
      const zipFile = path.join(dir(), 'cut.zip');
      writeFileSync(zipFile, zip.subarray(0, Math.floor(zip.length * 0.6)));
      return { 'users.csv cut mid-row': { location: cut.directory }, 'zip cut off (fails on opening)': { location: zipFile } };
    },
  }),
);
