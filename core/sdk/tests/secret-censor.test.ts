import t from 'tap';
import { REDACTED, SecretCensor, secretEncodings } from '../src/index';

const SECRET = 'cs/Kj8"Rt5&Vb3 Nq=Yw\\Gz';

/** Every 8-character piece of `text` (the oracle: independent of the censor's hashing). */
function pieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= text.length; i++) out.push(text.slice(i, i + 8));
  return out;
}

function leaks(text: string, forms: string[]): string[] {
  return forms.flatMap((form) => pieces(form)).filter((piece) => text.includes(piece));
}

t.test('the whole secret and every 8-character piece of it are censored, before and after any cut', async (t) => {
  const censor = new SecretCensor();
  censor.remember(SECRET);
  t.equal(censor.scrub(`raw ${SECRET} end`), `raw ${REDACTED} end`);
  for (let start = 0; start + 8 <= SECRET.length; start++) {
    for (let end = start + 8; end <= SECRET.length; end++) {
      const part = SECRET.slice(start, end);
      // The space after a piece ending before the secret's own space is a piece of the secret too.
      t.match(censor.scrub(`before ${part} after`), /^before ?\[REDACTED\] ?after$/, `piece ${start}..${end}`);
    }
  }
  t.equal(censor.scrub(`short ${SECRET.slice(0, 7)} piece`), `short ${SECRET.slice(0, 7)} piece`, 'fewer than 8 characters are left alone');
  t.equal(censor.scrub('nothing to hide here at all'), 'nothing to hide here at all');
  t.equal(censor.scrub(''), '');
  t.equal(censor.scrub(`${SECRET}${SECRET}`), REDACTED, 'adjacent copies are one run');
  t.equal(censor.scrub(`${SECRET} and ${SECRET}`), `${REDACTED} and ${REDACTED}`);
});

t.test('encodings: URL, form, RFC 3986, JSON, HTML, base64 at any alignment, base64 of id:secret', async (t) => {
  const censor = new SecretCensor();
  censor.remember(SECRET);
  const rfc3986 = encodeURIComponent(SECRET).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const encoded = [
    encodeURIComponent(SECRET),
    rfc3986,
    rfc3986.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    new URLSearchParams({ v: SECRET }).toString().slice(2),
    JSON.stringify(SECRET),
    JSON.stringify(JSON.stringify(SECRET)),
    JSON.stringify({ nested: { message: `echo ${SECRET}` } }),
    SECRET.replace(/&/g, '&amp;').replace(/"/g, '&quot;'),
    Buffer.from(SECRET).toString('base64'),
    Buffer.from(SECRET).toString('base64url'),
  ];
  for (const prefix of ['', 'a', 'ab', 'client-id:', 'x:', 'ab:'])
    encoded.push(Buffer.from(`${prefix}${SECRET}`).toString('base64'), Buffer.from(`${prefix}${SECRET}:tail`).toString('base64url'));
  for (const text of encoded) {
    const out = censor.scrub(`Authorization: Basic ${text} (echoed)`);
    t.match(out, REDACTED, `${text} is censored`);
    // What is left of the secret's own characters: fewer than 8 in a row, in any encoding.
    const left = out.split(REDACTED).join('\u0000');
    t.same(leaks(left, [SECRET, encodeURIComponent(SECRET), JSON.stringify(SECRET).slice(1, -1)]), [], `${text}: no piece left`);
  }
  t.ok(secretEncodings(SECRET).length >= 10, 'many forms');
});

t.test('censored JSON stays JSON: no escape is cut in two', async (t) => {
  const censor = new SecretCensor();
  censor.remember(SECRET);
  censor.remember('Zq<9>&x/Lm\\u');
  const values = [
    { message: `the server said "${SECRET}"` },
    { message: `part ${SECRET.slice(5)}` },
    { message: `part ${SECRET.slice(0, 15)}` },
    { message: `backslashes ${SECRET.slice(12)} \\ ${SECRET.slice(15)}` },
    { message: 'go style \u003c Zq<9>&x/Lm\\u end', list: ['Zq<9>&x/Lm\\u', `x${SECRET}y`] },
  ];
  for (const value of values) {
    for (const text of [
      JSON.stringify(value),
      JSON.stringify(JSON.stringify(value)),
      JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
    ]) {
      const out = censor.scrub(text);
      t.doesNotThrow(() => JSON.parse(out), `still JSON: ${out}`);
      t.match(out, REDACTED);
    }
  }
});

t.test('scrubDeep censors the strings of JSON-like values and leaves keys and the rest', async (t) => {
  const censor = new SecretCensor();
  t.equal(censor.scrubDeep('x'), 'x', 'knows nothing: the value itself');
  censor.remember(SECRET);
  const value = { [SECRET]: [SECRET, 3, null, true, { deep: `a ${SECRET} b` }], at: new Date(0) };
  t.same(censor.scrubDeep(value), { [SECRET]: [REDACTED, 3, null, true, { deep: `a ${REDACTED} b` }], at: '1970-01-01T00:00:00.000Z' });
});

t.test('secrets under 8 characters are refused; a secret stays until every holder lets it go', async (t) => {
  const censor = new SecretCensor();
  t.throws(() => censor.remember('short12'), { code: 'SECRET_TOO_SHORT', message: /7 characters is too short: secrets must have at least 8/ });
  t.notMatch(
    String(
      (() => {
        try {
          censor.remember('short12');
        } catch (err) {
          return (err as Error).message;
        }
      })(),
    ),
    'short12',
    'the message does not quote it',
  );
  const a = censor.remember('token-0123456789');
  const b = censor.remember('token-0123456789');
  const other = censor.remember('token-0123456780');
  t.equal(censor.size, 2);
  a.dispose();
  t.equal(censor.scrub('token-0123456789'), REDACTED, 'still held by b');
  b.dispose();
  t.ok(!censor.has('token-0123456789'));
  t.equal(censor.scrub('token-0123456789'), `${REDACTED}9`, 'only the pieces it shares with the other secret stay');
  other.dispose();
  t.equal(censor.scrub('token-0123456789 token-0123456780'), 'token-0123456789 token-0123456780', 'forgotten');
  t.equal(censor.size, 0);
});

t.test('the scan stays linear on long lines', async (t) => {
  const censor = new SecretCensor();
  for (let i = 0; i < 200; i++) censor.remember(`secret-${i}-${'q'.repeat(i % 7)}-0123456789abcdef`);
  const line = 'x'.repeat(1_000_000);
  const started = process.hrtime.bigint();
  t.equal(censor.scrub(line), line);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.ok(ms < 2000, `a megabyte with 200 secrets in ${ms.toFixed(1)} ms`);
});
