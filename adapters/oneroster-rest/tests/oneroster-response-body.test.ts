import t from 'tap';
import { SecretCensor } from '@rosterbridge/core';
import { classifyOneRosterBody, describeOneRosterErrorBody } from '../src/index';

t.test('tells JSON, JSON cut short, HTML, empty and other apart', async (t) => {
  t.same(classifyOneRosterBody('{"users":[]}', 'application/json'), { kind: 'json', value: { users: [] } });
  t.same(classifyOneRosterBody('{"users":[]}', 'text/plain'), { kind: 'json', value: { users: [] } }, 'content type not trusted');
  const full = JSON.stringify({ users: [{ sourcedId: 'a', givenName: 'He said "}]"' }] });
  for (const cut of [1, 10, 25, full.length - 1]) {
    t.equal(classifyOneRosterBody(full.slice(0, cut), 'application/json').kind, 'truncated', `cut at ${cut}`);
  }
  t.equal(classifyOneRosterBody('{"users": [1,}', 'application/json').kind, 'other', 'a syntax error inside is not a truncation');
  t.same(classifyOneRosterBody('<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>', 'application/json'), {
    kind: 'html',
    title: '502 Bad Gateway',
  });
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
  t.equal(
    describeOneRosterErrorBody(JSON.stringify({ statusInfoSet: [imsx, { ...imsx, imsx_description: 'Second' }] }), undefined),
    'Invalid signature — unauthorisedrequest; Second — unauthorisedrequest',
  );
  t.equal(describeOneRosterErrorBody(JSON.stringify({ imsx_codeMajor: 'failure', imsx_CodeMinor: 'forbidden' }), undefined), 'forbidden');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }), undefined), 'invalid_client: bad secret');
  t.equal(describeOneRosterErrorBody(JSON.stringify({ message: 'Too Many Requests' }), undefined), 'Too Many Requests');
  t.equal(describeOneRosterErrorBody('Unauthorized', 'text/plain'), 'Unauthorized');
  t.equal(describeOneRosterErrorBody('<html><title>Access denied</title></html>', 'text/html'), 'an HTML page titled "Access denied"');
  t.equal(describeOneRosterErrorBody('', 'text/plain'), undefined);
  t.equal(describeOneRosterErrorBody('{}', 'application/json'), undefined);
  t.equal(describeOneRosterErrorBody('x'.repeat(1000), 'text/plain')!.length, 200, 'long bodies are cut to an excerpt');
});

t.test('what a body quotes is censored before it is cut: no piece of a secret survives the cut', async (t) => {
  const secret = 'bt-Zx81Qw9PlM3nR5dF';
  const censor = new SecretCensor();
  censor.remember(secret);
  // 179 characters of padding leave 20 of the secret before the 200-character cut; 195 leave 4.
  for (const padding of [150, 179, 185, 192, 195, 198]) {
    const pad = 'x'.repeat(padding);
    const quoted = [
      describeOneRosterErrorBody(`${pad}${secret}`, 'text/plain', censor),
      describeOneRosterErrorBody(JSON.stringify({ error: 'invalid_token', error_description: `${pad}${secret}` }), 'application/json', censor),
      describeOneRosterErrorBody(JSON.stringify({ imsx_codeMajor: 'failure', imsx_description: `${pad}${secret}` }), 'application/json', censor),
      describeOneRosterErrorBody(`<html><title>${pad}${secret}</title></html>`, 'text/html', censor),
      describeOneRosterErrorBody(`{"users": [${pad}${secret}`, 'application/json', censor),
    ];
    for (const [i, text] of quoted.entries()) {
      t.ok(text !== undefined && text.length <= 240, `padding ${padding}, body ${i}: an excerpt`);
      for (let n = 3; n <= secret.length; n++) t.notOk(text!.includes(secret.slice(0, n)), `padding ${padding}, body ${i}: not even the first ${n} characters`);
    }
    const other = classifyOneRosterBody(`${pad}${secret}`, 'text/plain', censor);
    t.ok(other.kind === 'other' && !other.excerpt.includes(secret.slice(0, 3)), `padding ${padding}: classified text too`);
  }
  t.match(
    describeOneRosterErrorBody(`${'x'.repeat(179)}${secret}`, 'text/plain'),
    secret.slice(0, 20),
    'without a censor the cut keeps 20 characters (what the attack got)',
  );
});
