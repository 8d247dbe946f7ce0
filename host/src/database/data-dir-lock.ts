import { promises as fs, readFileSync, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Disposable, RosterbridgeError } from '@rosterbridge/core';

/** The lock's file name in the data dir. */
export const DATA_DIR_LOCK_FILE = 'host.lock';

/** Who holds a data dir: what the lock file says. */
export interface DataDirHolder {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** A data dir this process holds; disposing it removes the lock file. */
export interface DataDirLock extends Disposable {
  readonly file: string;
  /** The holder whose lock was left behind (its process gone) and taken over, if one was. */
  readonly takenOverFrom?: DataDirHolder;
}

/** Lock files this process holds, so that a second open in the same process is refused too. */
const heldHere = new Set<string>();

/**
 * Locks a data dir for this process: `<dataDir>/host.lock`, holding the pid, the machine's name and
 * the start time. PGlite takes no lock of its own (the `postmaster.pid` it writes holds -42 and is
 * never checked), and two processes writing one embedded database corrupt it, so a second host is
 * refused, naming the dir and the holder. A lock whose process is gone (killed, crashed) is taken
 * over; one held from another machine (a shared volume) is never guessed at. The file is removed on
 * dispose, and at exit if the host did not get that far.
 *
 * The file is written whole under another name, then linked into place (a link fails if the name
 * exists), so a reader never sees half of one; a stale lock is taken over under a second, short-lived
 * lock (`host.lock.takeover`), so two hosts starting together cannot both take it.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await fs.mkdir(dataDir, { recursive: true });
  const file = path.join(await fs.realpath(dataDir), DATA_DIR_LOCK_FILE);
  if (heldHere.has(file)) throw refusal(dataDir, file, { pid: process.pid, hostname: os.hostname(), startedAt: '' }, 'this process');
  const mine: DataDirHolder = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  const content = `${JSON.stringify(mine)}\n`;
  let takenOverFrom: DataDirHolder | undefined;
  for (let attempt = 1; !(await linkInto(file, content)); attempt++) {
    const held = await readHolder(file);
    // Gone between the link and the read: try again.
    if (held === undefined) continue;
    const state = holderState(held.holder);
    if (state !== 'stale' || attempt > 5) throw refusal(dataDir, file, held.holder, state === 'elsewhere' ? 'another machine' : 'alive');
    takenOverFrom = held.holder;
    await takeOver(file, held.raw);
  }
  heldHere.add(file);
  const releaseAtExit = () => removeIfMine(file, content);
  process.once('exit', releaseAtExit);
  let released = false;
  return {
    file,
    ...(takenOverFrom ? { takenOverFrom } : {}),
    async dispose() {
      if (released) return;
      released = true;
      process.off('exit', releaseAtExit);
      heldHere.delete(file);
      removeIfMine(file, content);
    },
  };
}

/** Writes `content` to a file of its own, then links it to `file`; false when `file` exists. */
async function linkInto(file: string, content: string): Promise<boolean> {
  const draft = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(draft, content);
  try {
    await fs.link(draft, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links: create the name exclusively, then write (a reader may then
    // meet an empty file for an instant, and refuse rather than take it over).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') return createExclusive(file, content);
    throw err;
  } finally {
    await fs.unlink(draft).catch(() => undefined);
  }
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  try {
    await fs.writeFile(file, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function readHolder(file: string): Promise<{ raw: string; holder: DataDirHolder | undefined } | undefined> {
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<DataDirHolder>;
    if (Number.isSafeInteger(parsed.pid) && typeof parsed.hostname === 'string') return { raw, holder: parsed as DataDirHolder };
  } catch {
    // not a lock this host wrote
  }
  return { raw, holder: undefined };
}

/**
 * `alive`: a process with that pid runs on this machine (or it cannot be told: a file not in the
 * lock's form); `stale`: it does not, or it is this process's pid without this process holding the
 * lock (a container restarted as pid 1); `elsewhere`: it was taken on another machine.
 */
function holderState(holder: DataDirHolder | undefined): 'alive' | 'stale' | 'elsewhere' {
  if (!holder) return 'alive';
  if (holder.hostname !== os.hostname()) return 'elsewhere';
  if (holder.pid === process.pid) return 'stale';
  try {
    process.kill(holder.pid, 0);
    return 'alive';
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'stale' : 'alive';
  }
}

/** Removes the stale lock whose content was `raw`, unless another host took it over meanwhile. */
async function takeOver(file: string, raw: string): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await linkInto(guard, `${JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() })}\n`))) {
    // Another host is taking it over; a guard left by one that died is removed.
    const held = await readHolder(guard);
    if (held && holderState(held.holder) === 'stale') await fs.unlink(guard).catch(() => undefined);
    else await sleep(100);
    return;
  }
  try {
    const now = await readHolder(file);
    if (now?.raw === raw) await fs.unlink(file);
  } finally {
    await fs.unlink(guard).catch(() => undefined);
  }
}

function removeIfMine(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) unlinkSync(file);
  } catch {
    // already gone
  }
}

function refusal(dataDir: string, file: string, holder: DataDirHolder | undefined, why: 'this process' | 'alive' | 'another machine'): RosterbridgeError {
  const who = !holder
    ? `${file} is there but is not a lock this host wrote`
    : why === 'this process'
      ? `this process (pid ${holder.pid}) has it open already`
      : `pid ${holder.pid} on ${why === 'another machine' ? `the machine "${holder.hostname}"` : 'this machine'}${holder.startedAt ? `, since ${holder.startedAt}` : ''}, holds it`;
  const next =
    why === 'another machine' || !holder ? `if no host runs on it any more, delete ${file}` : 'stop that host, or give this one another data dir (RB_DATA_DIR)';
  return new RosterbridgeError(
    'CONFIG_INVALID',
    `dataDir (env RB_DATA_DIR): the embedded database in ${dataDir} is in use: ${who}. Two hosts on one embedded database would corrupt it: ${next}; hosts that share data use a PostgreSQL server (RB_DATABASE_URL)`,
    { key: 'dataDir', lockFile: file, holderPid: holder?.pid },
  );
}
