import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { OneRosterClient, signOAuth1Request } from '@rosterbridge/oneroster-rest';
import { generateDistrict, startOneRosterSimulator } from '@rosterbridge/test-kit';
import { CONSUMER, FAST_RETRIES, OAUTH1 } from './oneroster-rest-kit';

const district = generateDistrict({ seed: 11, size: 'tiny' });

async function countUsers(client: OneRosterClient): Promise<number> {
  let n = 0;
  for await (const batch of client.read('users')) n += batch.records.length;
  return n;
}

t.test('OAuth 1.0a with HMAC-SHA1 and HMAC-SHA256 against an independent verifier', async (t) => {
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [CONSUMER] } });
  t.teardown(() => sim.close());
  for (const signatureMethod of ['HMAC-SHA1', 'HMAC-SHA256'] as const) {
    const client = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: { ...OAUTH1, signatureMethod }, pageSize: 5 });
    t.teardown(() => client.dispose());
    // A filter full of the characters encodeURIComponent leaves alone, so the signature covers them.
    let n = 0;
    for await (const batch of client.read('users', {
      filter: {
        or: [
          { field: 'givenName', operator: '~', value: '(*)!' },
          { field: 'role', operator: '=', value: 'student' },
        ],
      },
    }))
      n += batch.records.length;
    t.equal(n, 14, `${signatureMethod}: signed requests with a filter accepted`);
  }
});

t.test('the verifier refuses a replayed nonce and a clock too far off', async (t) => {
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth1: [CONSUMER], clockToleranceSeconds: 60 } });
  t.teardown(() => sim.close());
  const url = new URL(`${sim.baseUrl}/orgs?limit=1`);
  const { authorization } = signOAuth1Request('GET', url, CONSUMER);
  const first = await fetch(url, { headers: { authorization } });
  t.equal(first.status, 200, 'a signed request passes');
  const replay = await fetch(url, { headers: { authorization } });
  t.equal(replay.status, 401, 'the same nonce again is refused');
  t.match(await replay.json(), { imsx_description: /nonce/ });

  const skewed = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: OAUTH1, now: () => Date.now() - 10 * 60_000, ...FAST_RETRIES });
  t.teardown(() => skewed.dispose());
  await t.rejects(countUsers(skewed), { code: 'SOURCE_BAD_CREDENTIALS', message: /clock/ });
});

t.test('bearer tokens on a ClassLink-proxy-style path with an already-escaped application id', async (t) => {
  const basePath = '/app%3D%2Bid%3D/ims/oneroster/v1p1';
  const sim = await startOneRosterSimulator({ dataset: district, auth: { bearerTokens: ['proxy-token'], oauth1: [CONSUMER] }, basePath });
  t.teardown(() => sim.close());
  t.equal(sim.baseUrl, `${sim.origin}${basePath}`);
  for (const credentials of [{ kind: 'bearer', token: 'proxy-token' } as const, OAUTH1]) {
    sim.clearRequests();
    const client = new OneRosterClient({ baseUrl: `${sim.baseUrl}/`, credentials, pageSize: 10 });
    t.teardown(() => client.dispose());
    t.equal(await countUsers(client), 28, `${credentials.kind}: read through the proxy path`);
    t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.path === 'users'), `${credentials.kind}: the application id was not escaped again`);
    const user = await client.getRecord('users', 'usr-00000001');
    t.equal(user.record?.sourcedId, 'usr-00000001', `${credentials.kind}: single records too`);
  }
});

t.test('OAuth 2 client credentials: one token, renewed before it expires, and again after a 401', async (t) => {
  const client1 = { clientId: 'district-app', clientSecret: 'client-secret-x' };
  const sim = await startOneRosterSimulator({ dataset: district, auth: { oauth2Clients: [client1], tokenLifetimeSeconds: 1 } });
  t.teardown(() => sim.close());
  const credentials = { kind: 'oauth2', tokenUrl: sim.tokenUrl, ...client1 } as const;

  const client = new OneRosterClient({ baseUrl: sim.baseUrl, credentials, pageSize: 5 });
  t.teardown(() => client.dispose());
  t.equal(await countUsers(client), 28);
  t.equal(sim.tokensIssued, 1, 'one token for a whole read');
  t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.authScheme === 'Bearer' && r.status === 200));
  await delay(1000);
  sim.clearRequests();
  t.equal(await countUsers(client), 28);
  t.equal(sim.tokensIssued, 2, 'renewed before use once it was about to expire');
  t.ok(sim.requests.length > 0 && sim.requests.every((r) => r.status === 200), 'without a single 401');

  // A client whose clock stands still believes its token is fresh; the server knows better.
  const frozen = Date.now();
  const stale = new OneRosterClient({ baseUrl: sim.baseUrl, credentials, pageSize: 5, now: () => frozen });
  t.teardown(() => stale.dispose());
  t.equal(await countUsers(stale), 28);
  const issued = sim.tokensIssued;
  await delay(1100);
  sim.clearRequests();
  t.equal(await countUsers(stale), 28, 'the read succeeds after the server refused the old token');
  t.equal(sim.tokensIssued, issued + 1, 'a new token was fetched after the 401');
  t.equal(sim.requests.filter((r) => r.status === 401).length, 1, 'exactly one 401 on the way');

  const wrong = new OneRosterClient({ baseUrl: sim.baseUrl, credentials: { ...credentials, clientSecret: 'nope-not-the-secret' } });
  t.teardown(() => wrong.dispose());
  t.match(await wrong.check({ collections: ['orgs'] }), { ok: false, code: 'SOURCE_BAD_CREDENTIALS', message: /invalid_client/ });
});
