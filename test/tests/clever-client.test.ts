import t, { type Test } from 'tap';
import { CleverClient } from '@rosterbridge/clever';
import { isRosterbridgeError, ROSTER_ENTITY_ORDER, type RosterEntity, type RosterRecord } from '@rosterbridge/core';
import { generateDistrict } from '@rosterbridge/test-kit';
import { startCleverSimulator, type CleverSimulatorOptions } from '../src/clever-simulator';

const TOKEN = 'district-token-123';
const SEED = 20260817;

async function simulator(t: Test, extra: Partial<CleverSimulatorOptions> = {}) {
  const district = generateDistrict({ seed: SEED, size: 'tiny' });
  const sim = await startCleverSimulator({ dataset: district, tokens: [TOKEN], ...extra });
  t.teardown(() => sim.stop());
  return { district, sim };
}

/** Asserts that `promise` rejects with a RosterbridgeError of `code`, and never resolves (a short roster). */
async function failsWith(t: Test, promise: Promise<unknown>, code: string, name = `fails with ${code}`): Promise<void> {
  try {
    await promise;
    t.fail(`${name}: resolved instead`);
  } catch (error) {
    t.ok(isRosterbridgeError(error) && error.code === code, name, { error: String(error), code: (error as { code?: unknown }).code });
  }
}

function client(t: Test, baseUrl: string, options: Partial<ConstructorParameters<typeof CleverClient>[0]> = {}): CleverClient {
  const c = new CleverClient({ token: TOKEN, baseUrl, backoffBaseMs: 10, backoffMaxMs: 50, ...options });
  t.teardown(() => c.close());
  return c;
}

/**
 * What Clever can carry of a canonical record: the generated record with every field Clever v3.0
 * has no place for dropped or reduced, as the adapter maps it back. This list is the "what Clever
 * cannot express" of the Clever source:
 * - orgs: only the district and its schools (departments, local/state/national orgs are lost); metadata.
 * - academicSessions: type (every term is `term`), parent, dateLastModified; schoolYear is derived from startDate.
 * - courses: schoolYear, subjects, subjectCodes, dateLastModified; grades and org are derived from the course's sections.
 * - classes: location, subjectCodes, every term but the first, every grade but the first; subjects become Clever's normalized subject.
 * - users: grades of anyone but students, enabledUser (always true), userIds other than SIS, sms, phone (except contacts'), parent/relative (all contacts are guardians); metadata.
 * - enrollments: sourcedId (made from class, role, user), begin/end dates, dateLastModified, roles other than teacher and student.
 * - demographics: birthplace and residence status; several race flags collapse to one; dateLastModified is the user's.
 */
function expressible(entity: RosterEntity, record: RosterRecord, context: { classes: Map<string, RosterRecord<'classes'>>; users: Map<string, RosterRecord<'users'>> }): Record<string, unknown> {
  const r = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  r.metadata = {};
  switch (entity) {
    case 'academicSessions':
      r.type = 'term';
      delete r.parentSourcedId;
      delete r.dateLastModified;
      break;
    case 'courses': {
      delete r.schoolYearSourcedId;
      delete r.dateLastModified;
      r.subjects = [];
      r.subjectCodes = [];
      const sections = [...context.classes.values()].filter((c) => c.courseSourcedId === record.sourcedId);
      const schools = [...new Set(sections.map((c) => c.schoolSourcedId))];
      if (schools.length !== 1) r.orgSourcedId = 'org-0001';
      r.grades = [...new Set(sections.flatMap((c) => c.grades.slice(0, 1)))].sort();
      break;
    }
    case 'classes': {
      const c = record as RosterRecord<'classes'>;
      delete r.location;
      r.subjectCodes = [];
      r.termSourcedIds = c.termSourcedIds.slice(0, 1);
      r.grades = c.grades.slice(0, 1);
      r.subjects = ['english/language arts', 'math', 'science', 'social studies'].filter((s) => s.startsWith(c.subjects[0]!.toLowerCase().slice(0, 4))).slice(0, 1);
      if ((r.subjects as string[]).length === 0) delete r.subjects; // compared separately
      break;
    }
    case 'users': {
      const u = record as RosterRecord<'users'>;
      r.enabledUser = true;
      r.userIds = u.userIds.filter((id) => id.type === 'SIS');
      delete r.sms;
      if (!['guardian', 'parent', 'relative'].includes(u.role)) delete r.phone;
      else r.role = 'guardian';
      if (u.role === 'guardian') r.orgSourcedIds = [...u.orgSourcedIds].sort();
      r.agentSourcedIds = [...u.agentSourcedIds].sort();
      if (u.role !== 'student') r.grades = [];
      break;
    }
    case 'enrollments': {
      const e = record as RosterRecord<'enrollments'>;
      r.sourcedId = `${e.classSourcedId}:${e.role}:${e.userSourcedId}`;
      delete r.beginDate;
      delete r.endDate;
      delete r.dateLastModified;
      break;
    }
    case 'demographics': {
      for (const key of ['countryOfBirthCode', 'stateOfBirthAbbreviation', 'cityOfBirth', 'publicSchoolResidenceStatus']) delete r[key];
      r.dateLastModified = JSON.parse(JSON.stringify(context.users.get(record.sourcedId)!.dateLastModified));
      const flags = ['demographicRaceTwoOrMoreRaces', 'americanIndianOrAlaskaNative', 'asian', 'blackOrAfricanAmerican', 'nativeHawaiianOrOtherPacificIslander', 'white'];
      const first = flags.find((f) => r[f] === true);
      if (first) for (const f of flags) r[f] = f === first;
      break;
    }
  }
  return r;
}

t.test('a full pull of a generated tiny district yields its records, less what Clever cannot express', async (t) => {
  const { district, sim } = await simulator(t);
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.same(pull.issues, [], 'no issues: every reference resolves');

  const classes = new Map([...district.records('classes')].map((c) => [c.sourcedId, c]));
  const users = new Map([...district.records('users')].map((u) => [u.sourcedId, u]));
  for (const entity of ROSTER_ENTITY_ORDER) {
    const expected = new Map([...district.records(entity)].map((r) => {
      const e = expressible(entity, r, { classes, users });
      return [e.sourcedId as string, e];
    }));
    const actual = new Map((pull.records[entity] as RosterRecord[]).map((r) => [r.sourcedId, JSON.parse(JSON.stringify(r)) as Record<string, unknown>]));
    t.same([...actual.keys()].sort(), [...expected.keys()].sort(), `${entity}: the same records`);
    for (const [id, want] of expected) {
      const got = actual.get(id);
      if (!got) continue;
      if (entity === 'classes' && want.subjects === undefined) delete got.subjects;
      t.same(got, want, `${entity} ${id}`);
    }
  }
});

t.test('paging with a small limit follows the next links and reads everything once', async (t) => {
  const { district, sim } = await simulator(t);
  const pull = await client(t, sim.baseUrl, { pageSize: 3 }).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.equal(pull.records.classes.length, district.counts.classes);
  t.equal(pull.records.enrollments.length, [...district.records('enrollments')].length);
  const sectionPages = sim.requests.filter((r) => r.path === 'sections');
  t.equal(sectionPages.length, Math.ceil(district.counts.classes / 3), 'one request per page of sections');
  t.ok(sectionPages.slice(1).every((r) => r.query.starting_after !== undefined), 'later pages carry starting_after');
  t.ok(sim.requests.every((r) => r.query.limit === '3'));
});

t.test('a bad token gives SOURCE_BAD_CREDENTIALS, in a pull and in a check', async (t) => {
  const { sim } = await simulator(t);
  const bad = client(t, sim.baseUrl, { token: 'wrong' });
  await failsWith(t, bad.pullDistrict(), 'SOURCE_BAD_CREDENTIALS');
  const check = await bad.check();
  t.match(check, { ok: false, code: 'SOURCE_BAD_CREDENTIALS' });
  t.match(await client(t, sim.baseUrl).check(), { ok: true, message: /Connected to Clever district/ });
  t.match(await client(t, 'http://127.0.0.1:1/v3.0', { connectTimeoutMs: 500 }).check(), { ok: false, code: 'SOURCE_UNREACHABLE' });
});

t.test('429s from the rate limit are waited out', async (t) => {
  const { district, sim } = await simulator(t, { rateLimit: { limit: 4, windowMs: 300 } });
  const pull = await client(t, sim.baseUrl, { pageSize: 5 }).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.ok(sim.requests.length > 4, 'more requests than one window allows');
  // The client pauses when X-RateLimit-Remaining reaches 0; any 429 it still meets it waits out.
  t.ok(sim.requests.filter((r) => r.status === 200).length === sim.requests.length - sim.requests.filter((r) => r.status === 429).length);
});

t.test('injected 429s with Retry-After are waited out; too many give SOURCE_RATE_LIMITED', async (t) => {
  const { district, sim } = await simulator(t, { faults: [{ kind: 'status', status: 429, retryAfter: 0.05, requests: [2, 3] }] });
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
  t.equal(sim.requests.filter((r) => r.status === 429).length, 2);
  sim.configure({ faults: [{ kind: 'status', status: 429, retryAfter: 0.01, path: 'users' }] });
  await failsWith(t, client(t, sim.baseUrl, { maxAttempts: 3 }).pullDistrict(), 'SOURCE_RATE_LIMITED');
});

t.test('a 500 mid-read ends in an error, never a short roster; one 500 is retried', async (t) => {
  const { district, sim } = await simulator(t, { faults: [{ kind: 'status', status: 500, path: 'sections', requests: [2] }] });
  const ok = await client(t, sim.baseUrl, { pageSize: 4 }).pullDistrict();
  t.equal(ok.records.classes.length, district.counts.classes, 'one 500 retried');

  sim.configure({ faults: [{ kind: 'status', status: 500, path: 'users', requests: [2, 3, 4, 5, 6, 7, 8] }] });
  await failsWith(t, client(t, sim.baseUrl, { pageSize: 4, maxAttempts: 3 }).pullDistrict(), 'SOURCE_UNAVAILABLE');
});

t.test('cut and broken bodies, resets and slow answers fail with their codes', async (t) => {
  const { district, sim } = await simulator(t);
  const cases = [
    { fault: { kind: 'truncatedJson' as const, path: 'schools' }, code: 'SOURCE_TRUNCATED' },
    { fault: { kind: 'resetMidBody' as const, path: 'schools' }, code: 'SOURCE_TRUNCATED' },
    { fault: { kind: 'reset' as const, path: 'schools' }, code: 'SOURCE_UNAVAILABLE' },
    { fault: { kind: 'missingEnvelope' as const, path: 'schools' }, code: 'SOURCE_BAD_RESPONSE' },
    { fault: { kind: 'htmlPage' as const, path: 'schools' }, code: 'SOURCE_BAD_RESPONSE' },
    { fault: { kind: 'slow' as const, delayMs: 1000, path: 'schools' }, code: 'SOURCE_TIMEOUT' },
  ];
  for (const { fault, code } of cases) {
    sim.configure({ faults: [fault] });
    await failsWith(t, client(t, sim.baseUrl, { maxAttempts: 2, responseTimeoutMs: 200 }).pullDistrict(), code as never, `${fault.kind} → ${code}`);
  }
  // A single cut body is retried.
  sim.configure({ faults: [{ kind: 'truncatedJson', path: 'users', requests: [1] }] });
  const pull = await client(t, sim.baseUrl).pullDistrict();
  t.equal(pull.records.users.length, district.counts.users);
});
