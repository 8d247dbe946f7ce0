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
