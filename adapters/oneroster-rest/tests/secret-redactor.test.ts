import { inspect } from 'node:util';
import t from 'tap';
import { SecretCensor } from '@rosterbridge/core';
import { OneRosterClient, SecretRedactor, secretsOf } from '../src/index';

function redactorOf(...secrets: string[]): SecretRedactor {
  const censor = new SecretCensor();
  for (const secret of secrets) censor.remember(secret);
  return new SecretRedactor(censor);
}

t.test('redacts secrets in every form a server might echo them, and pieces of them', async (t) => {
  const secret = "p@ss w'rd/+=";
  const redactor = redactorOf(secret);
  t.equal(redactor.redact(`raw ${secret} end`), 'raw [REDACTED] end');
  t.equal(redactor.redact(`encoded ${encodeURIComponent(secret)}`), 'encoded [REDACTED]');
  t.equal(redactor.redact(`rfc3986 p%40ss%20w%27rd%2F%2B%3D`), 'rfc3986 [REDACTED]');
  t.equal(redactor.redact(`cut ${secret.slice(0, 9)}`), 'cut [REDACTED]', 'a secret cut short');
  t.equal(redactor.redact('nothing here'), 'nothing here');
});

t.test('OAuth 2 credentials include their Basic form', async (t) => {
  const secrets = secretsOf({ kind: 'oauth2', tokenUrl: 'https://x.test/token', clientId: 'id', clientSecret: 'sec' });
  t.same(secrets, ['sec', Buffer.from('id:sec').toString('base64')]);
  t.same(secretsOf({ kind: 'bearer', token: 'tok' }), ['tok']);
  t.same(secretsOf({ kind: 'oauth1', consumerKey: 'k', consumerSecret: 's' }), ['s']);
});

t.test('errors it makes carry no secret, not even in details or cause', async (t) => {
  const redactor = redactorOf('hunter2-secret');
  const cause = Object.assign(new Error('server said hunter2-secret'), { code: 'ECONNRESET', config: { headers: { authorization: 'hunter2-secret' } } });
  const error = redactor.error('SOURCE_BAD_CREDENTIALS', '401: echo hunter2-secret', { body: 'hunter2-secret', nested: { list: ['hunter2-secret'] } }, cause);
  t.equal(error.code, 'SOURCE_BAD_CREDENTIALS');
  const everything = `${error.message} ${JSON.stringify(error.toJSON())} ${inspect(error, { depth: 10, showHidden: true })}`;
  t.notMatch(everything, /hunter2/);
  t.equal((error.cause as { code?: string }).code, 'ECONNRESET', 'the cause keeps its code');
});

t.test('a client remembers its secrets in the censor it is given until it is disposed', async (t) => {
  const censor = new SecretCensor();
  const clientSecret = 'client-secret-0123456789';
  const client = new OneRosterClient({
    baseUrl: 'http://127.0.0.1:9/ims/oneroster/v1p1',
    credentials: { kind: 'oauth2', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'the-client', clientSecret },
    censor,
  });
  t.ok(censor.has(clientSecret));
  t.ok(censor.has(Buffer.from(`the-client:${clientSecret}`).toString('base64')), 'and its Basic credential');
  await client.dispose();
  t.equal(censor.size, 0, 'let go on dispose');
  t.throws(() => new OneRosterClient({ baseUrl: 'http://127.0.0.1:9/x', credentials: { kind: 'bearer', token: 'short' }, censor }), {
    code: 'SECRET_TOO_SHORT',
  });
  t.equal(censor.size, 0, 'a refused client holds nothing');
});
