import t from 'tap';
import { oauth1BaseString, oauth1HmacSignature, percentEncode, signOAuth1Request } from '../src/index';

// The published vector of ONEROSTER.md (RFC 5849 rules, HMAC-SHA256).
const VECTOR_URL =
  'https://test.com/ims/oneroster/v1p1/orgs?limit=100&offset=1515&filter=role%3D%27administrator%27%20OR%20role%3D%27student%27%20OR%20role%3D%27teacher%27';
const VECTOR_CREDENTIALS = { consumerKey: 'client-id', consumerSecret: 'client-secret' };
const VECTOR_FIXED = { nonce: 'fake-nonce', timestamp: 10000000 };

t.test('reproduces the published HMAC-SHA256 test vector exactly', async (t) => {
  const signed = signOAuth1Request('GET', new URL(VECTOR_URL), { ...VECTOR_CREDENTIALS, signatureMethod: 'HMAC-SHA256' }, VECTOR_FIXED);
  t.equal(signed.signature, '03DqhuWFnTlc3WxDYEOVKYxM5xQyRGfJ4x6zqQjYQnM=');
  t.equal(
    signed.baseString,
    'GET&https%3A%2F%2Ftest.com%2Fims%2Foneroster%2Fv1p1%2Forgs&filter%3Drole%253D%2527administrator%2527%2520OR%2520role%253D%2527student%2527%2520OR%2520role%253D%2527teacher%2527%26limit%3D100%26oauth_consumer_key%3Dclient-id%26oauth_nonce%3Dfake-nonce%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D10000000%26oauth_version%3D1.0%26offset%3D1515',
  );
  t.equal(
    signed.authorization,
    'OAuth oauth_consumer_key="client-id", oauth_nonce="fake-nonce", oauth_signature_method="HMAC-SHA256", oauth_timestamp="10000000", oauth_version="1.0", oauth_signature="03DqhuWFnTlc3WxDYEOVKYxM5xQyRGfJ4x6zqQjYQnM%3D"',
  );
  t.equal(signOAuth1Request('GET', new URL(VECTOR_URL), VECTOR_CREDENTIALS, VECTOR_FIXED).signature, signed.signature, 'HMAC-SHA256 is the default');
});

t.test('signs HMAC-SHA1 when asked (value computed independently with Python hmac)', async (t) => {
  const signed = signOAuth1Request('GET', new URL(VECTOR_URL), { ...VECTOR_CREDENTIALS, signatureMethod: 'HMAC-SHA1' }, VECTOR_FIXED);
  t.equal(signed.signature, 'V0ClBHct0aHfqXgSNUBXs2ZTd9s=');
  t.match(signed.authorization, /oauth_signature_method="HMAC-SHA1"/);
});

t.test('percentEncode follows RFC 3986, unlike encodeURIComponent', async (t) => {
  t.equal(percentEncode("!'()*"), '%21%27%28%29%2A');
  t.equal(encodeURIComponent("!'()*"), "!'()*", 'the difference this exists for');
  t.equal(percentEncode('AZaz09-._~'), 'AZaz09-._~', 'unreserved characters stay');
  t.equal(percentEncode('a b+c/d=e&f'), 'a%20b%2Bc%2Fd%3De%26f');
  t.equal(percentEncode('é☃'), '%C3%A9%E2%98%83', 'UTF-8 bytes, upper-case hex');
});

t.test('the base string normalizes the URI and sorts parameters by name, then value', async (t) => {
  const oauth = { oauth_consumer_key: 'k', oauth_signature: 'left-out', realm: 'left-out-too' };
  const base = oauth1BaseString('get', new URL('HTTPS://Example.COM:443/ims/oneroster/v1p1/users?b=2&a=2&a=1&c=x+y&d=%21'), oauth);
  t.equal(base, `GET&${percentEncode('https://example.com/ims/oneroster/v1p1/users')}&${percentEncode('a=1&a=2&b=2&c=x%20y&d=%21&oauth_consumer_key=k')}`);
  const withPort = oauth1BaseString('GET', new URL('http://127.0.0.1:8080/x'), {});
  t.equal(withPort, `GET&${percentEncode('http://127.0.0.1:8080/x')}&`, 'a non-default port stays');
  const proxy = oauth1BaseString('GET', new URL('https://oneroster-proxy.classlink.io/app%3D%3D/ims/oneroster/v1p1/orgs'), {});
  t.match(proxy, /app%253D%253D/, 'an already-escaped path is signed as sent, escaped once more by the base string');
});

t.test('the signing key is the encoded secret and an ampersand', async (t) => {
  const secret = "s3cr&t'(x)";
  const base = 'GET&x&y';
  const { createHmac } = await import('node:crypto');
  t.equal(oauth1HmacSignature(base, secret, 'HMAC-SHA256'), createHmac('sha256', `${'s3cr%26t%27%28x%29'}&`).update(base).digest('base64'));
  t.not(
    oauth1HmacSignature(base, secret, 'HMAC-SHA256'),
    createHmac('sha256', `${encodeURIComponent(secret)}&`)
      .update(base)
      .digest('base64'),
  );
});

t.test('each signature gets a fresh nonce and the current time by default', async (t) => {
  const url = new URL('https://x.test/ims/oneroster/v1p1/orgs');
  const a = signOAuth1Request('GET', url, VECTOR_CREDENTIALS);
  const b = signOAuth1Request('GET', url, VECTOR_CREDENTIALS);
  t.not(a.oauthParameters['oauth_nonce'], b.oauthParameters['oauth_nonce']);
  t.ok(Math.abs(Number(a.oauthParameters['oauth_timestamp']) - Date.now() / 1000) < 5);
});
