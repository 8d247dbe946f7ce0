import t from 'tap';
import { classifyOneRosterBody, describeOneRosterErrorBody } from '../src/index';

t.test('tells JSON, JSON cut short, HTML, empty and other apart', async (t) => {
  t.same(classifyOneRosterBody('{"users":[]}', 'application/json'), { kind: 'json', value: { users: [] } });
  t.same(classifyOneRosterBody('{"users":[]}', 'text/plain'), { kind: 'json', value: { users: [] } }, 'content type not trusted');
  const full = JSON.stringify({ users: [{ sourcedId: 'a', givenName: 'He said "}]"' }] });
  for (const cut of [1, 10, 25, full.length - 1]) {
    t.equal(classifyOneRosterBody(full.slice(0, cut), 'application/json').kind, 'truncated', `cut at ${cut}`);
  }
  t.equal(classifyOneRosterBody('{"users": [1,}', 'application/json').kind, 'other', 'a syntax error inside is not a truncation');
  t.same(classifyOneRosterBody('<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>', 'application/json'), { kind: 'html', title: '502 Bad Gateway' });
  t.same(classifyOneRosterBody('<h1>Oops</h1>', undefined), { kind: 'html', title: 'Oops' });
  t.same(classifyOneRosterBody('  \n', 'application/json'), { kind: 'empty' });
  t.same(classifyOneRosterBody('Rate limit exceeded', 'text/plain'), { kind: 'other', excerpt: 'Rate limit exceeded' });
});

t.test('reads error bodies leniently', async (t) => {
  const imsx = {
    imsx_codeMajor: 'failure',
    imsx_severity: 'error',
    imsx_description: 'Invalid signature',
    imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: 'unauthorisedrequest' }] },
  };
  t.equal(describeOneRosterErrorBody(JSON.stringify(imsx), 'application/json'), 'Invalid signature — unauthorisedrequest');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ imsx_StatusInfo: imsx }), 'application/json'), 'Invalid signature — unauthorisedrequest');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ statusInfoSet: [imsx, { ...imsx, imsx_description: 'Second' }] }), undefined), 'Invalid signature — unauthorisedrequest; Second — unauthorisedrequest');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ imsx_codeMajor: 'failure', imsx_CodeMinor: 'forbidden' }), undefined), 'forbidden');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }), undefined), 'invalid_client: bad secret');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ message: 'Too Many Requests' }), undefined), 'Too Many Requests');
  t.equal(describeOneRosterErrorBody('Unauthorized', 'text/plain'), 'Unauthorized');
  t.equal(describeOneRosterErrorBody('<html><title>Access denied</title></html>', 'text/html'), 'an HTML page titled "Access denied"');
  t.equal(describeOneRosterErrorBody('', 'text/plain'), undefined);
  t.equal(describeOneRosterErrorBody('{}', 'application/json'), undefined);
  t.equal(describeOneRosterErrorBody('x'.repeat(1000), 'text/plain')!.length, 200, 'long bodies are cut to an excerpt');
});
