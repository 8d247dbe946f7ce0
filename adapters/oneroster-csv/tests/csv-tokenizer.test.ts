import t from 'tap';
import { CsvTokenizer, MAX_CSV_ROW_LENGTH } from '../src/csv-tokenizer';

/** Every row the tokenizer gives for `input` pushed `size` bytes at a time: `line: fields` or `line! error`. */
function tokenize(input: string | Buffer, size = Number.MAX_SAFE_INTEGER): string[] {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const tokenizer = new CsvTokenizer();
  const rows: string[] = [];
  const take = (): void => {
    while (tokenizer.nextRow()) {
      rows.push(tokenizer.error === undefined ? `${tokenizer.line}: ${JSON.stringify(tokenizer.fields)}` : `${tokenizer.line}! ${tokenizer.error}`);
    }
  };
  for (let i = 0; i < bytes.length; i += size) {
    tokenizer.push(bytes.subarray(i, i + size));
    take();
  }
  tokenizer.end();
  take();
  return rows;
}

t.test('rows come out the same however the bytes are split into chunks', async (t) => {
  const file = Buffer.from(
    '\uFEFFid,name,note\r\n' +
      'a1,"Lincoln ""Lions"", North\r\nCampus",é\r\n' +
      'a2,日本語,"x,y"\r\n' +
      '\r\n' +
      'a3,,\r\n' +
      '"a4","",last',
  );
  const whole = tokenize(file);
  t.same(whole, [
    '1: ["id","name","note"]',
    '2: ["a1","Lincoln \\"Lions\\", North\\nCampus","é"]',
    '4: ["a2","日本語","x,y"]',
    '6: ["a3","",""]',
    '7: ["a4","","last"]',
  ]);
  for (const size of [1, 2, 3, 5, 8, 13]) t.same(tokenize(file, size), whole, `${size} bytes at a time`);
});

t.test('line endings: LF, CRLF, or CR alone when the first line ends so', async (t) => {
  t.same(tokenize('h\na,b\nc\n'), ['1: ["h"]', '2: ["a","b"]', '3: ["c"]']);
  t.same(tokenize('h\r\na,b\r\nc'), ['1: ["h"]', '2: ["a","b"]', '3: ["c"]']);
  t.same(tokenize('h\ra,b\r"c\rd",e\rf'), ['1: ["h"]', '2: ["a","b"]', '3: ["c\\rd","e"]', '5: ["f"]'], 'a row starts where it starts');
  t.same(
    tokenize('h\na\rb,c\nd\n'),
    ['1: ["h"]', '2: ["a\\rb","c"]', '4: ["d"]'],
    'a CR inside a field of an LF file is content, and a line break an editor shows',
  );
});

t.test('blank lines are skipped; blank and quoted empty fields are kept', async (t) => {
  t.same(tokenize('h\n\n  \n,\n""\n\n"a"\n'), ['1: ["h"]', '3: ["  "]', '4: ["",""]', '5: [""]', '7: ["a"]']);
  t.same(tokenize(''), []);
  t.same(tokenize('\uFEFF'), []);
});

t.test('malformed rows are errors worded as csv-parse worded them, once per line, and reading goes on', async (t) => {
  t.same(tokenize('h\no1,,,A\no2,,,B"ad,s\no3,,,C\no4,,,"D"x,s\no5,,,E'), [
    '1: ["h"]',
    '2: ["o1","","","A"]',
    '3! Invalid Opening Quote: a quote is found on field 3 at line 3, value is "B"',
    '4: ["o3","","","C"]',
    '5! Invalid Closing Quote: got "x" at line 5 instead of delimiter, record delimiter, trimable character (if activated) or comment',
    '6! Quote Not Closed: the parsing is finished with an opening quote at line 6',
  ]);
  t.same(
    tokenize('h\n"a"b"c",d\ne,f\n'),
    ['1: ["h"]', '2! Invalid Closing Quote: got "b" at line 2 instead of delimiter, record delimiter, trimable character (if activated) or comment', '3: ["e","f"]'],
    'a second stray quote on the same line is not reported again',
  );
});

t.test('a row longer than the limit is one error, and nothing after it is read', async (t) => {
  const unclosed = `h1,h2\na,"b\n${'c,d\n'.repeat(MAX_CSV_ROW_LENGTH / 4)}`;
  const rows = tokenize(unclosed, 65536);
  t.equal(rows.length, 2);
  t.equal(rows[0], '1: ["h1","h2"]');
  t.match(rows[1], /^\d+! Max Record Size: record exceed the maximum number of tolerated bytes of 1000000 at line \d+$/);
  const longField = `h1,h2\na,"${'x'.repeat(MAX_CSV_ROW_LENGTH)}"\nc,d\n`;
  t.same(tokenize(longField), ['1: ["h1","h2"]', '2! Max Record Size: record exceed the maximum number of tolerated bytes of 1000000 at line 2']);
});

t.test('UTF-16LE with a byte order mark is read as text, a CRLF counting as one line', async (t) => {
  const file = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('h1,h2\r\n"a\r\nb",é\r\nc,d\r\n', 'utf16le')]);
  const rows = ['1: ["h1","h2"]', '2: ["a\\nb","é"]', '4: ["c","d"]'];
  t.same(tokenize(file), rows);
  t.same(tokenize(file, 3), rows);
});

t.test('bytes that are not UTF-8 read as U+FFFD; a row says whether it is all ASCII', async (t) => {
  const tokenizer = new CsvTokenizer();
  tokenizer.push(Buffer.concat([Buffer.from('h\nplain,row\nÉcole,'), Buffer.from([0xc9, 0x74, 0xe9]), Buffer.from('\n')]));
  tokenizer.end();
  const seen: [string[], boolean][] = [];
  while (tokenizer.nextRow()) seen.push([[...tokenizer.fields], tokenizer.ascii]);
  t.same(seen, [
    [['h'], true],
    [['plain', 'row'], true],
    [['École', '\uFFFDt\uFFFD'], false],
  ]);
});
