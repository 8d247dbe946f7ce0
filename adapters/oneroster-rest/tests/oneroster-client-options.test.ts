import t from 'tap';
import { OneRosterClient, type OneRosterClientOptions } from '../src/index';

const credentials = { kind: 'bearer', token: 'test-bearer-token' } as const;

t.test('the base URL is taken with or without a trailing slash, escapes kept', async (t) => {
  for (const [given, expected] of [
    ['https://x.oneroster.com/ims/oneroster/v1p1', 'https://x.oneroster.com/ims/oneroster/v1p1'],
    ['https://x.oneroster.com/ims/oneroster/v1p1/', 'https://x.oneroster.com/ims/oneroster/v1p1'],
    [' https://x.oneroster.com/ims/oneroster/v1p1// ', 'https://x.oneroster.com/ims/oneroster/v1p1'],
    ['https://oneroster-proxy.classlink.io/ab%3D%2Bcd/ims/oneroster/v1p1/', 'https://oneroster-proxy.classlink.io/ab%3D%2Bcd/ims/oneroster/v1p1'],
  ] satisfies [string, string][]) {
    const client = new OneRosterClient({ baseUrl: given, credentials });
    t.equal(client.baseUrl, expected, given);
    await client.dispose();
  }
});

t.test('bad settings are refused with SETTINGS_INVALID, naming the key', async (t) => {
  const bad: [Partial<OneRosterClientOptions>, string][] = [
    [{ baseUrl: 'not a url' }, 'baseUrl'],
    [{ baseUrl: 'ftp://x.test/ims/oneroster/v1p1' }, 'baseUrl'],
    [{ baseUrl: 'https://x.test/ims/oneroster/v1p1?tenant=1' }, 'baseUrl'],
    [{ pageSize: 10_001 }, 'pageSize'],
    [{ pageSize: 0 }, 'pageSize'],
    [{ pageSize: 2.5 }, 'pageSize'],
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ maxConcurrentRequests: -1 }, 'maxConcurrentRequests'],
    [{ maxRequestsPerRead: 0 }, 'maxRequestsPerRead'],
  ];
  for (const [options, key] of bad) {
    t.throws(
      () => new OneRosterClient({ baseUrl: 'https://x.test/ims/oneroster/v1p1', credentials, ...options }),
      { code: 'SETTINGS_INVALID', details: { key } },
      JSON.stringify(options),
    );
  }
  t.throws(
    () => new OneRosterClient({ baseUrl: 'https://admin:pa55word@x.test/ims/oneroster/v1p1', credentials }),
    { code: 'SETTINGS_INVALID', message: /^(?!.*pa55word)/ },
    'a password in the URL is refused without being repeated',
  );
  const max = new OneRosterClient({ baseUrl: 'https://x.test/', credentials, pageSize: 10_000 });
  t.ok(max, 'ClassLink’s ceiling of 10,000 is allowed');
  await max.dispose();
});
