import t from 'tap';
import type { Enrollment, RosterClass, User } from '@rosterbridge/core';
import { OneRosterClient } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator } from '@rosterbridge/test-kit';
import { OAUTH1, afterClassLink, differences } from './oneroster-rest-kit';

// The simulator's own behaviour, as a client sees it: routes, envelopes, query parameters, quirks.
const district = generateDistrict({ seed: 21, size: 'small' });
const users = [...district.records('users')];
const classes = [...district.records('classes')];
const enrollments = [...district.records('enrollments')];
const TOKEN = 'sim-test-token';

t.test('the simulator', async (t) => {
  const sim = await startOneRosterSimulator({ dataset: district, auth: { bearerTokens: [TOKEN], oauth1: [OAUTH1] } });
  t.teardown(() => sim.close());
  const get = async (path: string) => {
    const response = await fetch(`${sim.baseUrl}/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const client = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: OAUTH1, pageSize: 300 });
  t.teardown(() => client.dispose());
  const readAll = async (segments: string[], entity: 'users' | 'classes' | 'enrollments' | 'academicSessions' | 'courses' | 'orgs', filter?: string) => {
    const out = [];
    for await (const batch of client.readPath(segments, entity, filter ? { filter } : {})) out.push(...batch.records);
    return out;
  };

  await t.test('envelope keys: plural for lists, singular for one record, demographics the exception', async (t) => {
    const cases: [string, string, 'list' | 'one'][] = [
      ['orgs', 'orgs', 'list'],
      ['schools', 'orgs', 'list'],
      ['terms', 'academicSessions', 'list'],
      ['gradingPeriods', 'academicSessions', 'list'],
      ['students', 'users', 'list'],
      ['teachers', 'users', 'list'],
      ['demographics', 'demographics', 'list'],
      ['users/usr-00000001', 'user', 'one'],
      ['students/usr-00000001', 'user', 'one'],
      ['schools/org-0002', 'org', 'one'],
      ['orgs/org-0001', 'org', 'one'],
      ['classes/cls-0000001', 'class', 'one'],
      ['courses/crs-000001', 'course', 'one'],
      ['academicSessions/as-2027', 'academicSession', 'one'],
      ['enrollments/enr-000000001', 'enrollment', 'one'],
      ['demographics/usr-00000001', 'demographics', 'one'],
    ];
    for (const [path, key, kind] of cases) {
      const { status, json } = await get(path);
      t.equal(status, 200, path);
      t.same(Object.keys(json!), [key], `${path} → ${key}`);
      t.equal(Array.isArray(json![key]), kind === 'list', `${path}: ${kind}`);
    }
    t.equal((await get('schools')).json!['orgs'].length, district.counts.orgs - 1, 'schools are the school orgs');
    t.equal((await get('students?limit=10000')).json!['users'].length, users.filter((u) => u.role === 'student').length);
    t.equal((await get('terms')).json!['academicSessions'].length, 0, 'the district has semesters, not terms');
    t.equal((await get('schools/org-0001')).status, 404, 'the district org is not a school');
    t.equal((await get('teachers/usr-00000001')).status, 404, 'a student is not a teacher');
    t.match((await get('users/nobody')).json, {
      imsx_codeMajor: 'failure',
      imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldValue: 'unknownobject' }] },
    });
    t.equal((await get('widgets')).status, 404);
  });

  await t.test('nested routes return what the enrollments and references say', async (t) => {
    const someClass = classes[17]! as RosterClass;
    const inClass = (role: string) =>
      new Set(enrollments.filter((e: Enrollment) => e.classSourcedId === someClass.sourcedId && e.role === role).map((e) => e.userSourcedId));
    const expect = (ids: Set<string>) => users.filter((u) => ids.has(u.sourcedId)).map((u) => afterClassLink('users', u));
    t.same(differences(await readAll(['classes', someClass.sourcedId, 'students'], 'users'), expect(inClass('student'))), [], 'classes/{id}/students');
    t.same(differences(await readAll(['classes', someClass.sourcedId, 'teachers'], 'users'), expect(inClass('teacher'))), [], 'classes/{id}/teachers');
    t.same(
      differences(await readAll(['schools', someClass.schoolSourcedId, 'classes', someClass.sourcedId, 'students'], 'users'), expect(inClass('student'))),
      [],
      'schools/{id}/classes/{id}/students',
    );
    const school = someClass.schoolSourcedId;
    t.same(
      differences(
        await readAll(['schools', school, 'classes'], 'classes'),
        classes.filter((c) => c.schoolSourcedId === school),
      ),
      [],
      'schools/{id}/classes',
    );
    t.same(
      differences(
        await readAll(['schools', school, 'students'], 'users'),
        users.filter((u) => u.role === 'student' && u.orgSourcedIds.includes(school)).map((u) => afterClassLink('users', u)),
      ),
      [],
      'schools/{id}/students',
    );
    t.same(
      differences(
        await readAll(['schools', school, 'enrollments'], 'enrollments'),
        enrollments.filter((e) => e.schoolSourcedId === school),
      ),
      [],
      'schools/{id}/enrollments',
    );
    t.same(
      differences(
        await readAll(['courses', someClass.courseSourcedId, 'classes'], 'classes'),
        classes.filter((c) => c.courseSourcedId === someClass.courseSourcedId),
      ),
      [],
      'courses/{id}/classes',
    );
    const teacher = [...inClass('teacher')][0]!;
    const teacherClasses = new Set(enrollments.filter((e) => e.userSourcedId === teacher).map((e) => e.classSourcedId));
    t.same(
      differences(
        await readAll(['teachers', teacher, 'classes'], 'classes'),
        classes.filter((c) => teacherClasses.has(c.sourcedId)),
      ),
      [],
      'teachers/{id}/classes',
    );
    t.equal((await get('classes/nope/students')).status, 404, 'a missing parent is a 404');

    const quirky = await startOneRosterSimulator({ dataset: district, auth: 'none', quirks: { classStudentsIncludeTeachers: true } });
    t.teardown(() => quirky.close());
    const listed = ((await (await fetch(`${quirky.baseUrl}/classes/${someClass.sourcedId}/students?limit=1000`)).json()) as { users: User[] }).users;
    t.same(
      listed.map((u) => u.sourcedId).sort(),
      [...inClass('student'), ...inClass('teacher')].sort(),
      'with the quirk on, classes/{id}/students lists the teachers too',
    );
  });

  await t.test('ClassLink quirks on the wire, and plain JSON with them off', async (t) => {
    const student = (await get('users/usr-00000001')).json!['user'];
    t.equal(student.enabledUser, 'true', 'booleans as strings');
    t.same(student.userIds[0], { type: 'FED', identifier: 'usr-00000001' }, 'a FED userId first');
    t.match(student.orgs[0], { href: new RegExp(`^${sim.baseUrl}/orgs/org-`), sourcedId: /^org-/, type: 'org' }, 'refs with href');
    t.equal(student.password, '', 'absent fields as empty strings');
    const enrollment = (await get('enrollments/enr-000000001')).json!['enrollment'];
    t.equal(enrollment.primary, 'true');
    t.match(enrollment.class, { type: 'class', sourcedId: 'cls-0000001' });

    const plain = await startOneRosterSimulator({ dataset: district, auth: 'none', quirks: false });
    t.teardown(() => plain.close());
    const user = ((await (await fetch(`${plain.baseUrl}/users/usr-00000001`)).json()) as any).user;
    t.equal(user.enabledUser, true);
    t.notOk('password' in user);
    t.notOk(user.userIds.some((id: { type: string }) => id.type === 'FED'));
    t.same(Object.keys(user.orgs[0]).sort(), ['sourcedId', 'type']);
  });

  await t.test('filter: every operator, AND and OR, dates as instants', async (t) => {
    const teachers = users.filter((u) => u.role === 'teacher');
    t.equal((await readAll(['users'], 'users', "role='teacher'")).length, teachers.length, '=');
    t.equal((await readAll(['users'], 'users', "role!='teacher'")).length, users.length - teachers.length, '!=');
    const fam = users[5]!.familyName.slice(1, 4);
    t.equal(
      (await readAll(['users'], 'users', `familyName~'${fam.toUpperCase()}'`)).length,
      users.filter((u) => u.familyName.toLowerCase().includes(fam.toLowerCase())).length,
      '~ ignores case',
    );
    const sorted = users.map((u) => u.dateLastModified!.getTime()).sort((a, b) => a - b);
    const pivot = new Date(sorted[Math.floor(sorted.length / 2)]!);
    const at = pivot.toISOString();
    t.equal((await readAll(['users'], 'users', `dateLastModified>'${at}'`)).length, sorted.filter((x) => x > pivot.getTime()).length, '>');
    t.equal((await readAll(['users'], 'users', `dateLastModified>='${at}'`)).length, sorted.filter((x) => x >= pivot.getTime()).length, '>=');
    t.equal((await readAll(['users'], 'users', `dateLastModified<'${at}'`)).length, sorted.filter((x) => x < pivot.getTime()).length, '<');
    t.equal((await readAll(['users'], 'users', `dateLastModified<='${at}'`)).length, sorted.filter((x) => x <= pivot.getTime()).length, '<=');
    const ninth = users.filter((u) => u.role === 'student' && u.grades.includes('09'));
    t.equal((await readAll(['users'], 'users', "role='student' AND grades='09'")).length, ninth.length, 'AND, with a list field matching any item');
    t.equal(
      (await readAll(['users'], 'users', "role='teacher' OR role='guardian'")).length,
      users.filter((u) => u.role === 'teacher' || u.role === 'guardian').length,
      'OR',
    );
    t.equal(
      (await readAll(['classes'], 'classes', `school.sourcedId='org-0002'`)).length,
      classes.filter((c) => c.schoolSourcedId === 'org-0002').length,
      'a dotted field into a ref',
    );
    const bad = await get(`users?filter=${encodeURIComponent("shoeSize='9'")}`);
    t.equal(bad.status, 400);
    t.match(bad.json, { imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldValue: 'invalid_filter_field' }] } });
    t.equal((await get(`users?filter=${encodeURIComponent('role=teacher')}`)).status, 400, 'an unquoted value is refused');
  });

  await t.test('sort, orderBy, fields, limit and offset', async (t) => {
    const desc = (await get('users?sort=familyName&orderBy=desc&limit=50')).json!['users'] as User[];
    const names = desc.map((u) => u.familyName);
    t.same(names, [...names].sort().reverse(), 'sorted by familyName, descending');
    t.equal(
      names[0],
      users
        .map((u) => u.familyName)
        .sort()
        .reverse()[0],
    );
    const fields = (await get('users?fields=sourcedId,givenName&limit=3')).json!['users'];
    t.same(
      fields.map((u: object) => Object.keys(u)),
      [
        ['sourcedId', 'givenName'],
        ['sourcedId', 'givenName'],
        ['sourcedId', 'givenName'],
      ],
    );
    t.equal((await get('users?fields=shoeSize')).status, 400);
    sim.clearRequests();
    const raw = [];
    for await (const page of client.pages(['users'], 'users', { fields: ['sourcedId', 'givenName'], pageSize: 1000 })) raw.push(...page.items);
    t.equal(raw.length, users.length, 'the client pages raw items with fields=');
    t.same(Object.keys(raw[0] as object), ['sourcedId', 'givenName']);
    t.equal(sim.requests[0]!.query['fields'], 'sourcedId,givenName');
    const page = (await get('users?limit=7&offset=14')).json!['users'] as User[];
    t.same(
      page.map((u) => u.sourcedId),
      users.slice(14, 21).map((u) => u.sourcedId),
    );
    t.equal((await get('users')).json!['users'].length, 100, 'the default limit is 100');
    t.equal((await get('users?limit=0')).status, 400);
    t.equal((await get('users?offset=-1')).status, 400);
  });

  await t.test('X-Total-Count and Link: correct, absent, wrong; and the silent clamp', async (t) => {
    const first = await get('users?limit=300&offset=300&filter=' + encodeURIComponent("role='student'"));
    const students = users.filter((u) => u.role === 'student').length;
    t.equal(first.headers.get('x-total-count'), String(students), 'the total of the filtered collection');
    const link = first.headers.get('link')!;
    t.match(link, /<[^>]*limit=300&offset=600>; rel="next"/);
    t.match(link, /<[^>]*limit=300&offset=0>; rel="prev"/);
    t.match(link, /filter=role%3D'student'|filter=role%3D%27student%27/, 'links keep the filter');
    t.match(link, new RegExp(`offset=${Math.floor((students - 1) / 300) * 300}>; rel="last"`));

    sim.configure({ paging: { totalCount: 'absent', link: 'absent' } });
    const bare = await get('users?limit=5');
    t.equal(bare.headers.get('x-total-count'), null);
    t.equal(bare.headers.get('link'), null);

    sim.configure({ paging: { totalCount: 'wrong', totalCountSkew: 10, link: 'wrong' } });
    const wrong = await get('users?limit=5');
    t.equal(wrong.headers.get('x-total-count'), String(users.length + 10));
    t.match(wrong.headers.get('link'), /offset=6>; rel="next"/, 'next skips a record');

    sim.configure({ paging: { maxLimit: 40 } });
    const clamped = await get('users?limit=1000');
    t.equal(clamped.json!['users'].length, 40, 'a larger limit is clamped, silently');
    t.equal(clamped.status, 200);
    t.equal(clamped.headers.get('x-total-count'), String(users.length));
    sim.configure({ paging: {} });
    t.equal((await get('users?limit=10000')).json!['users'].length, users.length, 'without a clamp set, up to 10,000 (ClassLink’s ceiling) come at once');
  });

  await t.test('403 per collection, error bodies as imsx or plain text, 401 without credentials', async (t) => {
    sim.configure({ forbidden: ['enrollments'] });
    const denied = await get('enrollments');
    t.equal(denied.status, 403);
    t.match(denied.json, { imsx_description: /enrollments/, imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldValue: 'forbidden' }] } });
    t.equal((await get('schools/org-0002/enrollments')).status, 403, 'nested routes to a forbidden entity too');
    t.equal((await get('users?limit=1')).status, 200);
    sim.configure({ forbidden: [], errorBodies: 'text' });
    const noAuth = await fetch(`${sim.baseUrl}/users`);
    t.equal(noAuth.status, 401);
    t.match(await noAuth.text(), /^401 the request carries no credentials/);
    sim.configure({ errorBodies: 'imsx' });
    t.equal(
      (await fetch(`${sim.origin}/elsewhere`)).headers.get('content-type')?.startsWith('text/html'),
      true,
      'paths outside the service are a web server 404 page',
    );
  });
});
