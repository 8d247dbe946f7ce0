import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { DATA_DIR_LOCK_FILE, lockDataDir } from '@rosterbridge/host';

/** The module, for child processes that lock a data dir of their own accord. */
const LOCK_MODULE = path.resolve(__dirname, '../dist/database/data-dir-lock.js');

function freshDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has exited (pids are not reused until the counter wraps). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** A child process that locks `dir` (at `startAt`, if given), prints "locked" or "refused <message>", and holds on. */
function lockingChild(dir: string, startAt = 0): { child: ChildProcess; said: Promise<string> } {
  const script = `
    const { lockDataDir } = require(${JSON.stringify(LOCK_MODULE)});
    setTimeout(() => lockDataDir(${JSON.stringify(dir)}).then(
      () => { console.log('locked'); setTimeout(() => undefined, 60000); },
      (err) => { console.log('refused ' + err.message); process.exit(0); },
    ), Math.max(0, ${startAt} - Date.now()));`;
  const child = spawn(process.execPath, ['-e', script]);
  const said = new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
  });
  return { child, said };
}

function holderIn(dir: string): { pid: number; hostname: string; startedAt: string } {
  return JSON.parse(readFileSync(path.join(dir, DATA_DIR_LOCK_FILE), 'utf8'));
}

t.test('a lock names this process and machine; a second lock in this process is refused; disposing removes it', async (t) => {
  const dir = freshDir(t);
  const lock = await lockDataDir(dir);
  t.equal(lock.file, path.join(dir, DATA_DIR_LOCK_FILE));
  t.match(holderIn(dir), { pid: process.pid, hostname: hostname() });
  t.equal(lock.takenOverFrom, undefined);
  await t.rejects(lockDataDir(dir), {
    code: 'CONFIG_INVALID',
    message: `dataDir (env RB_DATA_DIR): the embedded database in ${dir} is in use: this process (pid ${process.pid}) has it open already.`,
  });
  await lock.dispose();
  t.notOk(existsSync(lock.file), 'the file is gone');
  const again = await lockDataDir(dir);
  t.equal(again.takenOverFrom, undefined, 'a released dir is taken afresh');
  await again.dispose();
});

t.test('a host holding the dir in another process: refused, naming the dir, the pid and what to do; once it is killed, taken over', async (t) => {
  const dir = freshDir(t);
  const holder = lockingChild(dir);
  t.teardown(() => holder.child.kill('SIGKILL'));
  t.equal(await holder.said, 'locked');
  const pid = holder.child.pid!;
  await t.rejects(lockDataDir(dir), {
    code: 'CONFIG_INVALID',
    message: new RegExp(
      `^dataDir \\(env RB_DATA_DIR\\): the embedded database in ${dir} is in use: pid ${pid} on this machine, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, holds it\\. ` +
        'Two hosts on one embedded database would corrupt it: stop that host, or give this one another data dir \\(RB_DATA_DIR\\)',
    ),
    details: { key: 'dataDir', holderPid: pid },
  });
  const exited = new Promise((resolve) => holder.child.once('exit', resolve));
  holder.child.kill('SIGKILL');
  await exited;
  t.equal(holderIn(dir).pid, pid, 'a killed host leaves its lock');
  const lock = await lockDataDir(dir);
  t.equal(lock.takenOverFrom?.pid, pid, 'taken over from the dead pid');
  t.equal(holderIn(dir).pid, process.pid);
  await lock.dispose();
});

t.test('a lock whose process is gone, or that holds this pid without this process holding it (a restarted container), is stale', async (t) => {
  for (const pid of [deadPid(), process.pid]) {
    const dir = freshDir(t);
    writeFileSync(path.join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = await lockDataDir(dir);
    t.equal(lock.takenOverFrom?.pid, pid, `pid ${pid} taken over`);
    t.match(holderIn(dir), { pid: process.pid, hostname: hostname() });
    await lock.dispose();
  }
});

t.test('a lock taken on another machine, or a file not in the lock form, is never taken over', async (t) => {
  const dir = freshDir(t);
  const file = path.join(dir, DATA_DIR_LOCK_FILE);
  const elsewhere = JSON.stringify({ pid: deadPid(), hostname: 'rb-other-machine', startedAt: '2026-01-01T00:00:00.000Z' });
  writeFileSync(file, elsewhere);
  await t.rejects(lockDataDir(dir), {
    message: new RegExp(
      `is in use: pid \\d+ on the machine "rb-other-machine", since 2026-01-01T00:00:00.000Z, holds it\\. .*: if no host runs on it any more, delete ${file}; `,
    ),
  });
  t.equal(readFileSync(file, 'utf8'), elsewhere, 'left as it was');
  writeFileSync(file, 'not a lock');
  await t.rejects(lockDataDir(dir), {
    message: new RegExp(`is in use: ${file} is there but is not a lock this host wrote\\. .*: if no host runs on it any more, delete ${file}; `),
  });
  t.equal(readFileSync(file, 'utf8'), 'not a lock', 'left as it was');
});

t.test('disposing leaves a lock file that is no longer its own', async (t) => {
  const dir = freshDir(t);
  const lock = await lockDataDir(dir);
  writeFileSync(lock.file, JSON.stringify({ pid: 1, hostname: 'rb-other-machine', startedAt: '' }));
  await lock.dispose();
  t.ok(existsSync(lock.file));
});

t.test('a process that exits without disposing removes its lock', async (t) => {
  const dir = freshDir(t);
  const r = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(LOCK_MODULE)}).lockDataDir(${JSON.stringify(dir)}).then(() => { console.log('locked'); process.exit(3); })`],
    {
      encoding: 'utf8',
    },
  );
  t.equal(r.stdout.trim(), 'locked');
  t.equal(r.status, 3);
  t.notOk(existsSync(path.join(dir, DATA_DIR_LOCK_FILE)));
});

t.test('five processes starting at once on a dir with a stale lock: exactly one takes it', async (t) => {
  const dir = freshDir(t);
  const stale = deadPid();
  writeFileSync(path.join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: stale, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
  // They load first, then all try at one instant.
  const startAt = Date.now() + 2000;
  const children = Array.from({ length: 5 }, () => lockingChild(dir, startAt));
  t.teardown(() => children.forEach((c) => c.child.kill('SIGKILL')));
  const said = await Promise.all(children.map((c) => c.said));
  const winners = children.filter((_, i) => said[i] === 'locked');
  t.equal(winners.length, 1, `one locked: ${JSON.stringify(said)}`);
  t.equal(holderIn(dir).pid, winners[0]?.child.pid, 'the lock file names the winner');
  t.equal(
    said.filter((s) => /^refused dataDir \(env RB_DATA_DIR\): the embedded database in .* is in use: pid \d+ on this machine/.test(s)).length,
    4,
    'the others are refused',
  );
});

t.test('on a filesystem without hard links, the lock is created exclusively instead', async (t) => {
  const noLinks = {
    ...fs,
    promises: { ...fs.promises, link: async () => Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' })) },
  };
  const { lockDataDir: lockWithoutLinks } = t.mockRequire<typeof import('@rosterbridge/host')>(LOCK_MODULE, { 'node:fs': noLinks });
  const dir = freshDir(t);
  const lock = await lockWithoutLinks(dir);
  t.match(holderIn(dir), { pid: process.pid, hostname: hostname() });
  await t.rejects(lockWithoutLinks(dir), { message: /this process \(pid \d+\) has it open already/ }, 'still one holder');
  await lock.dispose();
  writeFileSync(path.join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: deadPid(), hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
  const taken = await lockWithoutLinks(dir);
  t.ok(taken.takenOverFrom, 'a stale lock is taken over the same way');
  await taken.dispose();
  t.notOk(existsSync(path.join(dir, DATA_DIR_LOCK_FILE)));
});
