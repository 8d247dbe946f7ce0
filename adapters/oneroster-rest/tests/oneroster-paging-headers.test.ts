import t from 'tap';
import { linkNextOffset, parseTotalCount } from '../src/index';

const base = new URL('https://x.test/ims/oneroster/v1p1/users?limit=100&offset=100');

t.test('reads the next offset from a Link header', async (t) => {
  const link =
    '<https://x.test/ims/oneroster/v1p1/users?limit=100&offset=200>; rel="next", <https://x.test/ims/oneroster/v1p1/users?limit=100&offset=0>; rel="first", <https://x.test/ims/oneroster/v1p1/users?limit=100&offset=900>; rel="last"';
  t.equal(linkNextOffset(link, base), 200);
  t.equal(linkNextOffset('<https://x.test/u?offset=0>; rel="first", <https://x.test/u?offset=300>; rel=next', base), 300, 'an unquoted rel, not first');
  t.equal(linkNextOffset('</ims/oneroster/v1p1/users?offset=50&limit=50>; rel="prev next"', base), 50, 'a relative target and a rel list');
  t.equal(linkNextOffset('<https://x.test/u?filter=a,b&offset=7>; rel="next"', base), 7, 'a comma inside the target');
  t.equal(linkNextOffset('<https://x.test/u?offset=900>; rel="last"', base), undefined, 'no next');
  t.equal(linkNextOffset('<https://x.test/u?page=2>; rel="next"', base), undefined, 'a next without an offset');
  t.equal(linkNextOffset('<https://x.test/u?offset=x>; rel="next"', base), undefined);
  t.equal(linkNextOffset('<https://x.test/u?offset=5>; rel="nextpage"', base), undefined, 'only the next relation');
  t.equal(linkNextOffset(undefined, base), undefined);
});

t.test('reads X-Total-Count only when it is a whole number', async (t) => {
  t.equal(parseTotalCount('1568'), 1568);
  t.equal(parseTotalCount(' 0 '), 0);
  t.equal(parseTotalCount(undefined), undefined);
  t.equal(parseTotalCount(''), undefined);
  t.equal(parseTotalCount('-1'), undefined);
  t.equal(parseTotalCount('12.5'), undefined);
  t.equal(parseTotalCount('many'), undefined);
});
