import { inspect } from 'node:util';
import t from 'tap';
import { SecretRedactor, secretsOf } from '../src/index';

t.test('redacts secrets in every form a server might echo them', async (t) => {
  const secret = "p@ss w'rd/+=";
  const redactor = new SecretRedactor(() => [secret, '']);
  t.equal(redactor.redact(`raw ${secret} end`), 'raw [redacted] end');
  t.equal(redactor.redact(`encoded ${encodeURIComponent(secret)}`), 'encoded [redacted]');
  t.equal(redactor.redact(`rfc3986 p%40ss%20w%27rd%2F%2B%3D`), 'rfc3986 [redacted]');
  t.equal(redactor.redact('nothing here'), 'nothing here', 'an empty secret redacts nothing');
});

t.test('OAuth 2 credentials include their Basic form', async (t) => {
  const secrets = secretsOf({ kind: 'oauth2', tokenUrl: 'https://x.test/token', clientId: 'id', clientSecret: 'sec' });
  t.same(secrets, ['sec', Buffer.from('id:sec').toString('base64')]);
  t.same(secretsOf({ kind: 'bearer', token: 'tok' }), ['tok']);
  t.same(secretsOf({ kind: 'oauth1', consumerKey: 'k', consumerSecret: 's' }), ['s']);
});

t.test('errors it makes carry no secret, not even in details or cause', async (t) => {
  const redactor = new SecretRedactor(() => ['hunter2-secret']);
  const cause = Object.assign(new Error('server said hunter2-secret'), { code: 'ECONNRESET', config: { headers: { authorization: 'hunter2-secret' } } });
  const error = redactor.error('SOURCE_BAD_CREDENTIALS', '401: echo hunter2-secret', { body: 'hunter2-secret', nested: { list: ['hunter2-secret'] } }, cause);
  t.equal(error.code, 'SOURCE_BAD_CREDENTIALS');
  const everything = `${error.message} ${JSON.stringify(error.toJSON())} ${inspect(error, { depth: 10, showHidden: true })}`;
  t.notMatch(everything, /hunter2/);
  t.equal((error.cause as { code?: string }).code, 'ECONNRESET', 'the cause keeps its code');
});
