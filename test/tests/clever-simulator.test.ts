import t, { type Test } from 'tap';
import { generateDistrict } from '@rosterbridge/test-kit';
import { startCleverSimulator } from '@rosterbridge/simulators';

const TOKEN = 'district-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };

async function start(t: Test, extra: Record<string, unknown> = {}) {
  const district = generateDistrict({ seed: 7, size: 'tiny' });
  const sim = await startCleverSimulator({ dataset: district, tokens: [TOKEN], ...extra });
  t.teardown(() => sim.stop());
  return { district, sim };
}

async function get(url: string, headers: Record<string, string> = auth): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* left as text */
  }
  return { status: response.status, headers: response.headers, body };
}

t.test('serves Clever v3.0 resources behind a bearer district token', async (t) => {
  const { district, sim } = await start(t);
  t.equal((await get(`${sim.baseUrl}/schools`, {})).status, 401, 'no token');
  t.equal((await get(`${sim.baseUrl}/schools`, { authorization: 'Bearer nope' })).status, 401, 'wrong token');

  const districts = await get(`${sim.baseUrl}/districts`);
  t.equal(districts.status, 200);
  t.equal(districts.body.data.length, 1);
  t.match(districts.body.data[0], { data: { id: 'org-0001', name: String }, uri: '/v3.0/districts/org-0001' });

  const schools = await get(`${sim.baseUrl}/schools`);
  t.equal(schools.body.data.length, district.counts.orgs - 1);
  t.match(schools.body.data[0].data, { district: 'org-0001', name: String });

  const sections = await get(`${sim.baseUrl}/sections`);
  t.equal(sections.body.data.length, district.counts.classes);
  const section = sections.body.data[0].data;
  t.match(section, { school: String, course: String, term_id: String, teacher: String, teachers: Array, students: Array });
  t.equal(section.teachers[0], section.teacher, 'the primary teacher first');

  const students = await get(`${sim.baseUrl}/users?role=student`);
  t.ok(students.body.data.length > 0 && students.body.data.every((u: any) => u.data.roles.student), 'role filter');
  t.equal(students.body.data.length, [...district.records('users')].filter((u) => u.role === 'student').length);
  const contacts = await get(`${sim.baseUrl}/users?role=contact`);
  t.ok(contacts.body.data.length > 0);
  t.match(contacts.body.data[0].data.roles.contact, { student_relationships: [{ student: String, relationship: String, type: 'Parent/Guardian' }] });
  t.notOk(contacts.body.data[0].data.name.first, 'a contact name is all in last, as Clever stores it');
  t.equal((await get(`${sim.baseUrl}/users?role=owl`)).status, 400);

  const one = await get(`${sim.baseUrl}/sections/${section.id}`);
  t.equal(one.body.data.id, section.id);
  const nested = await get(`${sim.baseUrl}/sections/${section.id}/students`);
  t.same(
    nested.body.data.map((u: any) => u.data.id),
    section.students,
  );
  const contactId = contacts.body.data[0].data.id;
  const student = contacts.body.data[0].data.roles.contact.student_relationships[0].student;
  t.ok((await get(`${sim.baseUrl}/users/${student}/mycontacts`)).body.data.some((u: any) => u.data.id === contactId));
  t.equal((await get(`${sim.baseUrl}/sections/nope`)).status, 404);
  t.match((await get(`${sim.baseUrl}/me`)).body.data, { type: 'district', district: 'org-0001' });
});

t.test('pages with limit, starting_after and the links next link; 413 above 10,000', async (t) => {
  const { district, sim } = await start(t);
  const ids: string[] = [];
  let url: string | undefined = `${sim.baseUrl}/users?limit=5`;
  let pages = 0;
  const nextUris: string[] = [];
  while (url) {
    const page = await get(url);
    pages++;
    ids.push(...page.body.data.map((item: any) => item.data.id));
    const next = page.body.links.find((l: any) => l.rel === 'next');
    if (next) nextUris.push(next.uri);
    url = next ? `${sim.origin}${next.uri}` : undefined;
  }
  t.equal(nextUris.length, pages - 1, 'every page but the last links the next');
  t.same(
    nextUris.filter((uri) => !/starting_after=/.test(uri)),
    [],
    'each next link pages by starting_after',
  );
  t.equal(pages, Math.ceil(district.counts.users / 5));
  t.same(ids, [...district.records('users')].map((u) => u.sourcedId).sort(), 'every user once, in id order');
  const after = await get(`${sim.baseUrl}/users?limit=2&starting_after=${ids[3]}`);
  t.same(
    after.body.data.map((i: any) => i.data.id),
    ids.slice(4, 6),
  );
  const before = await get(`${sim.baseUrl}/users?limit=2&ending_before=${ids[3]}`);
  t.same(
    before.body.data.map((i: any) => i.data.id),
    ids.slice(1, 3),
  );
  t.equal((await get(`${sim.baseUrl}/users?limit=10001`)).status, 413);
});

t.test('a configured rate limit answers 429 with X-RateLimit-* and Retry-After', async (t) => {
  const { sim } = await start(t, { rateLimit: { limit: 2, windowMs: 60_000 } });
  const first = await get(`${sim.baseUrl}/schools`);
  t.equal(first.headers.get('x-ratelimit-limit'), '2');
  t.equal(first.headers.get('x-ratelimit-remaining'), '1');
  t.ok(Number(first.headers.get('x-ratelimit-reset')) > Date.now() / 1000);
  await get(`${sim.baseUrl}/schools`);
  const limited = await get(`${sim.baseUrl}/schools`);
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0');
  t.ok(Number(limited.headers.get('retry-after')) > 0);
});

t.test('faults are injected like the OneRoster simulator', async (t) => {
  const { sim } = await start(t, {
    faults: [
      { kind: 'status', status: 500, path: 'schools', requests: [2] },
      { kind: 'truncatedJson', path: 'terms', requests: [1] },
    ],
  });
  t.equal((await get(`${sim.baseUrl}/schools`)).status, 200);
  t.equal((await get(`${sim.baseUrl}/schools`)).status, 500);
  t.equal((await get(`${sim.baseUrl}/schools`)).status, 200);
  const cut = await get(`${sim.baseUrl}/terms`);
  t.type(cut.body, 'string', 'a body cut short is not JSON');
  t.same(sim.faultCounts(), [1, 1]);
  t.same(
    sim.requests.map((r) => r.fault ?? null),
    [null, 'status', null, 'truncatedJson'],
  );
});

t.test('changes are recorded as events, paged with starting_after', async (t) => {
  const { sim } = await start(t);
  const school = sim.resources('schools')[0]!;
  sim.upsert('schools', { ...school, name: 'Renamed School' });
  sim.upsert('terms', { id: 'term-new', district: 'org-0001', name: 'Summer', start_date: '2027-06-20', end_date: '2027-07-30' });
  sim.remove('sections', sim.resources('sections')[0]!.id);
  const all = await get(`${sim.baseUrl}/events`);
  t.same(
    all.body.data.map((e: any) => e.data.type),
    ['schools.updated', 'terms.created', 'sections.deleted'],
  );
  t.same(all.body.data[0].data.data.previous_attributes, { name: school.name });
  const later = await get(`${sim.baseUrl}/events?starting_after=${all.body.data[0].data.id}`);
  t.same(
    later.body.data.map((e: any) => e.data.type),
    ['terms.created', 'sections.deleted'],
  );
  t.equal((await get(`${sim.baseUrl}/schools/${school.id}`)).body.data.name, 'Renamed School', 'the change is served');
});
