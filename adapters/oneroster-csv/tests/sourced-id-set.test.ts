import t from 'tap';
import { SourcedIdSet } from '../src/sourced-id-set';

/** A small seeded generator, so that a failure can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

t.test('answers as a Set<string> does: sorted runs, ids out of order, repeats, ids that are not ASCII or very long', async (t) => {
  const random = seededRandom(7);
  for (let round = 0; round < 40; round++) {
    const ids = new SourcedIdSet();
    const expected = new Set<string>();
    const count = Math.floor(random() * 4000);
    const sortedFor = Math.floor(random() * count);
    const mismatches: string[] = [];
    for (let i = 0; i < count; i++) {
      const pick = random();
      let id: string;
      if (i < sortedFor) id = `usr-${String(i).padStart(8, '0')}`;
      else if (pick < 0.8) id = `usr-${String(Math.floor(random() * count)).padStart(8, '0')}`;
      else if (pick < 0.9) id = `élève-${Math.floor(random() * 40)}`;
      else if (pick < 0.95) id = '';
      else id = 'x'.repeat(0x10000 + Math.floor(random() * 3));
      if (random() < 0.3 && ids.has(id) !== expected.has(id)) mismatches.push(`has ${id.slice(0, 20)}`);
      const isNew = !expected.has(id);
      expected.add(id);
      if (ids.add(id) !== isNew) mismatches.push(`add ${id.slice(0, 20)}`);
    }
    for (const id of expected) if (!ids.has(id)) mismatches.push(`lost ${id.slice(0, 20)}`);
    if (ids.has(`usr-${String(count + 1).padStart(8, '0')}`)) mismatches.push('found an id never added');
    t.same([mismatches.slice(0, 5), ids.size], [[], expected.size], `round ${round}: ${count} ids, the first ${sortedFor} sorted`);
  }
});

t.test('spills sorted ids to a file and reads them back when the table is needed', async (t) => {
  const random = seededRandom(11);
  for (let round = 0; round < 20; round++) {
    // A spill point a few ids long, so that every round spills many times.
    const ids = new SourcedIdSet({ spillAt: 16 + Math.floor(random() * 200) });
    const expected = new Set<string>();
    const count = 200 + Math.floor(random() * 3000);
    const sortedFor = Math.floor(random() * count);
    const mismatches: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = i < sortedFor ? `enr-${String(i).padStart(9, '0')}` : `enr-${String(Math.floor(random() * count)).padStart(9, '0')}`;
      const isNew = !expected.has(id);
      expected.add(id);
      if (ids.add(id) !== isNew) mismatches.push(`add ${id}`);
    }
    for (const id of expected) if (!ids.has(id)) mismatches.push(`lost ${id}`);
    if (ids.has('enr-x')) mismatches.push('found an id never added');
    t.same([mismatches.slice(0, 5), ids.size], [[], expected.size], `round ${round}: ${count} ids, the first ${sortedFor} sorted`);
    ids.dispose();
  }
});

t.test('a sorted million ids: the duplicate check keeps memory flat', async (t) => {
  const ids = new SourcedIdSet();
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 1_000_000; i++) ids.add(`enr-${String(i).padStart(9, '0')}`);
  const grown = process.memoryUsage().arrayBuffers - before;
  t.ok(grown < 4 * 1024 * 1024, `array buffers grew ${(grown / 2 ** 20).toFixed(1)} MiB for 1,000,000 sorted ids (15 MB unspilled)`);
  t.equal(ids.add('enr-000000500'), false, 'a repeat after the spill is still found');
  t.equal(ids.has('enr-000999999'), true);
  t.equal(ids.size, 1_000_000);
  ids.dispose();
});
