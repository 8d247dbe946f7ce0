import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { nullCensor, nullLogger } from '@rosterbridge/core';
import { ConcurrencyLimiter, OneRosterClient, OneRosterTransport, SecretRedactor } from '../src/index';

// Response bodies are read as bytes and decoded when first read (pure ASCII by a plain copy): the
// text must be what UTF-8 decoding gives, byte order mark dropped, whatever the bytes.

/** A server answering every request with 200 and the body `bodyOf` gives for its URL. */
async function serve(bodyOf: (url: URL) => Buffer): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const body = bodyOf(new URL(request.url ?? '/', 'http://x'));
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

t.test('a body reads as its UTF-8 text, pure ASCII or not', async (t) => {
  const bodies: Record<string, Buffer> = {
    ascii: utf8('{"orgs":[{"sourcedId":"org-1","name":"Lincoln High"}]}'),
    latin: utf8('{"users":[{"givenName":"François","familyName":"Núñez"}]}'),
    wide: utf8('{"users":[{"givenName":"Trần Thị Hằng","familyName":"李"},{"note":"🙂"}]}'),
    bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('{"orgs":[]}')]),
    // Not UTF-8: each bad byte reads as U+FFFD, as a UTF-8 decoder does.
    invalid: Buffer.concat([utf8('{"orgs":[{"name":"'), Buffer.from([0xe9, 0xff]), utf8('"}]}')]),
    empty: Buffer.alloc(0),
    largeAscii: utf8(`{"orgs":[${Array.from({ length: 20_000 }, (_, i) => `{"sourcedId":"org-${i}","name":"School ${i}"}`).join(',')}]}`),
    large: utf8(`{"orgs":[${Array.from({ length: 20_000 }, (_, i) => `{"sourcedId":"org-${i}","name":"École ${i}"}`).join(',')}]}`),
  };
  const { server, origin } = await serve((url) => bodies[url.pathname.slice(1)]!);
  t.teardown(() => server.close());
  const transport = new OneRosterTransport({
    connectTimeoutMs: 2000,
    responseTimeoutMs: 2000,
    maxAttempts: 1,
    backoff: {},
    maxRetryAfterMs: 0,
    limiter: new ConcurrencyLimiter(2),
    redactor: new SecretRedactor(nullCensor),
    logger: nullLogger,
    userAgent: 'test',
  });
  t.teardown(() => transport.close());
  for (const [name, bytes] of Object.entries(bodies)) {
    const response = await transport.send({ method: 'GET', url: new URL(`${origin}/${name}`) });
    const expected = bytes.toString('utf8').replace(/^\uFEFF/, '');
    t.equal(response.text, expected, `${name}: the text`);
    t.equal(response.text, expected, `${name}: the same text when read again`);
  }
});

t.test('records with characters beyond ASCII come through a read unchanged', async (t) => {
  const page = utf8(
    JSON.stringify({
      orgs: [
        { sourcedId: 'org-1', status: 'active', dateLastModified: '2024-05-01T18:25:43.511Z', name: 'École Élémentaire Saint-Éloi', type: 'school' },
        { sourcedId: 'org-2', status: 'active', dateLastModified: '2024-05-01T18:25:43.511Z', name: 'Trường Tiểu học Lê Lợi 🏫', type: 'school' },
      ],
    }),
  );
  // The page at offset 0, then the empty page that ends the read.
  const { server, origin } = await serve((url) => (url.searchParams.get('offset') === '0' ? page : utf8('{"orgs":[]}')));
  t.teardown(() => server.close());
  const client = new OneRosterClient({ baseUrl: `${origin}/v1`, credentials: { kind: 'bearer', token: 'test-bearer-token' }, pageSize: 10 });
  t.teardown(() => client.dispose());
  const names: string[] = [];
  for await (const batch of client.read('orgs')) for (const record of batch.records) names.push(record.name);
  t.same(names, ['École Élémentaire Saint-Éloi', 'Trường Tiểu học Lê Lợi 🏫']);
});
