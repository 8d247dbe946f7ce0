import t from 'tap';
import { CsvTokenizer, MAX_CSV_ROW_LENGTH, type CsvRowLimits, type CsvRowProblem } from '../src/csv-tokenizer';

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
    '\uFEFFid,name,note\r\n' + 'a1,"Lincoln ""Lions"", North\r\nCampus",é\r\n' + 'a2,日本語,"x,y"\r\n' + '\r\n' + 'a3,,\r\n' + '"a4","",last',
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
    [
      '1: ["h"]',
      '2! Invalid Closing Quote: got "b" at line 2 instead of delimiter, record delimiter, trimable character (if activated) or comment',
      '3: ["e","f"]',
    ],
    'a second stray quote on the same line is not reported again',
  );
});

t.test('a row still open at the cap with a quote in it is one error, and nothing after it is read', async (t) => {
  const unclosed = `h1,h2\na,"b\n${'c,d\n'.repeat(MAX_CSV_ROW_LENGTH / 4)}e,f\n`;
  const rows = tokenize(unclosed, 65536);
  t.equal(rows.length, 2);
  t.equal(rows[0], '1: ["h1","h2"]');
  t.match(
    rows[1],
    /^2! line 2: a row runs past the cap of 1000000 bytes a row \(maxLineBytes\) \(to line \d+ at least\) and holds a quote, most likely one left open; the rest of the file is not read$/,
  );
  const tokenizer = problems(unclosed, {}, 65536);
  t.same(
    tokenizer.map((p) => [p.code, p.line, p.losesRows]),
    [['CSV_ROW_TOO_LONG', 2, true]],
    'coded, and rows may be lost',
  );
});

/** The problems the tokenizer reports for `input` pushed `size` bytes at a time, with the rows it gives (as `line: fields`). */
function problems(input: string | Buffer, limits: CsvRowLimits, size = Number.MAX_SAFE_INTEGER, rows: string[] = []): CsvRowProblem[] {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const tokenizer = new CsvTokenizer(limits);
  const found: CsvRowProblem[] = [];
  const take = (): void => {
    while (tokenizer.nextRow()) {
      if (tokenizer.problem) found.push(tokenizer.problem);
      else rows.push(`${tokenizer.line}: ${tokenizer.fields.join('|')}`);
    }
  };
  for (let i = 0; i < bytes.length; i += size) {
    tokenizer.push(bytes.subarray(i, i + size));
    take();
  }
  tokenizer.end();
  take();
  return found;
}

t.test('a row longer than the cap without quotes is rejected alone, naming its line, however the bytes come', async (t) => {
  const file = `h1,h2\nr1,${'x'.repeat(100)}\n${'y'.repeat(100)},b\nr3,ok\nr4,"${'q'.repeat(100)}"\nr5,never\n`;
  for (const size of [Number.MAX_SAFE_INTEGER, 1000, 64, 7, 1]) {
    const rows: string[] = [];
    const found = problems(file, { maxLineBytes: 50, maxFieldBytes: 40 }, size, rows);
    t.same(rows, ['1: h1|h2', '4: r3|ok'], `${size} bytes at a time: the rows after it come, up to one with a quote`);
    t.same(
      found.map((p) => [p.code, p.line, p.firstField, p.losesRows]),
      [
        ['CSV_ROW_TOO_LONG', 2, 'r1', false],
        ['CSV_ROW_TOO_LONG', 3, undefined, false],
        ['CSV_ROW_TOO_LONG', 5, undefined, true],
      ],
      `${size} bytes at a time: each too long row is one problem on its own line; the quoted one ends reading`,
    );
    t.equal(found[0]!.message, 'line 2 is 104 bytes long, over the cap of 50 bytes a row (maxLineBytes)');
  }
});

t.test('a row without quotes longer than the cap is skipped to its line break, not kept in memory', async (t) => {
  // 5 MB in one row, pushed 64 KiB at a time, with a cap of 1 KiB: nothing of it is carried over.
  const long = 'z'.repeat(5_000_000);
  const file = Buffer.from(`h1,h2\nr1,a\nr2,${long}\nr3,b\n\nr4,c`);
  const tokenizer = new CsvTokenizer({ maxLineBytes: 1024 });
  const rows: string[] = [];
  let carried = 0;
  for (let i = 0; i < file.length; i += 65536) {
    tokenizer.push(file.subarray(i, i + 65536));
    carried = Math.max(carried, (tokenizer as unknown as { buffer: Buffer }).buffer.length);
    while (tokenizer.nextRow())
      rows.push(
        tokenizer.problem ? `${tokenizer.line}! ${tokenizer.problem.code} ${tokenizer.problem.message}` : `${tokenizer.line}: ${tokenizer.fields.join('|')}`,
      );
  }
  tokenizer.end();
  while (tokenizer.nextRow())
    rows.push(tokenizer.problem ? `${tokenizer.line}! ${tokenizer.problem.code}` : `${tokenizer.line}: ${tokenizer.fields.join('|')}`);
  t.same(rows, [
    '1: h1|h2',
    '2: r1|a',
    '3! CSV_ROW_TOO_LONG line 3 is 5000004 bytes long, over the cap of 1024 bytes a row (maxLineBytes)',
    '4: r3|b',
    '6: r4|c',
  ]);
  t.ok(carried <= 65536 + 1024, `at most a chunk and a row are held (${carried} bytes)`);
});

t.test('a field longer than its cap rejects its row, naming the column, and keeps the sourcedId', async (t) => {
  const rows: string[] = [];
  const found = problems(
    `id,name,note\nu1,${'n'.repeat(30)},x\n${'i'.repeat(30)},b,c\nu3,"${'q""'.repeat(10)}",y\nu4,ok,z\n`,
    { maxFieldBytes: 20 },
    Number.MAX_SAFE_INTEGER,
    rows,
  );
  t.same(rows, ['1: id|name|note', '5: u4|ok|z']);
  t.same(
    found.map((p) => [p.code, p.line, p.column, p.firstField]),
    [
      ['CSV_FIELD_TOO_LONG', 2, 2, 'u1'],
      ['CSV_FIELD_TOO_LONG', 3, 1, undefined],
      ['CSV_FIELD_TOO_LONG', 4, 2, 'u3'],
    ],
  );
  t.equal(found[0]!.message, 'line 2: field 2 is 30 bytes long, over the cap of 20 bytes a field (maxFieldBytes)');
  t.same(problems('id,name\nu1,' + 'n'.repeat(20) + '\n', { maxFieldBytes: 20 }), [], 'a field as long as the cap is taken');
});

t.test('blank lines are skipped cheaply; a run of them longer than a row may be ends the file', async (t) => {
  const rows: string[] = [];
  const found = problems(`h1,h2\na,b\n${'\n'.repeat(5000)}c,d\n${'\r\n'.repeat(600)}e,f\n`, { maxLineBytes: 1000 }, 100, rows);
  t.same(rows, ['1: h1|h2', '2: a|b'], 'the rows before the run come; none after it');
  t.same(
    found.map((p) => [p.code, p.line, p.losesRows]),
    [['CSV_BLANK_LINES', 3, true]],
  );
  t.equal(found[0]!.message, 'from line 3 on, more than 1000 bytes of blank lines (the cap of a row, maxLineBytes); the rest of the file is not read');
  const fine: string[] = [];
  t.same(
    problems(`h1,h2\na,b\n${'\n'.repeat(900)}c,d\n${'\n'.repeat(900)}e,f\n`, { maxLineBytes: 1000 }, 64, fine),
    [],
    'runs shorter than the cap, however many, are fine',
  );
  t.same(fine, ['1: h1|h2', '2: a|b', '903: c|d', '1804: e|f']);
  // 200 MB of line breaks: ended after the first megabyte, not read to the end.
  const started = Date.now();
  const huge = Buffer.alloc(200 * 1024 * 1024, 0x0a);
  const tokenizer = new CsvTokenizer();
  tokenizer.push(Buffer.from('h1,h2\n'));
  let pushed = 0;
  for (let i = 0; i < huge.length; i += 65536) {
    tokenizer.push(huge.subarray(i, i + 65536));
    pushed += 65536;
    let ended = false;
    while (tokenizer.nextRow()) if (tokenizer.problem?.code === 'CSV_BLANK_LINES') ended = true;
    if (ended) break;
  }
  t.ok(pushed <= 2 * 1024 * 1024, `reading ended within 2 MB of blank lines (${pushed} bytes, ${Date.now() - started} ms)`);
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
