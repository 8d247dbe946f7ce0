import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The longest id kept as bytes; longer ones, like ids that are not ASCII, go to an ordinary Set. */
const MAX_STORED_ID_LENGTH = 0xffff;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MIN_SLOTS = 1024;
/** While ids arrive sorted, stored bytes beyond this go to a spill file instead of memory. */
const DEFAULT_SPILL_AT = 1024 * 1024;

/** Closes the spill file of a set dropped without `dispose()`. */
const spillFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

export interface SourcedIdSetOptions {
  /**
   * Bytes of sorted ids kept in memory before they move to a spill file (an unlinked temporary
   * file, gone when closed). Default 1 MiB; `Infinity` never spills.
   */
  spillAt?: number;
}

/**
 * A set of sourcedIds, for the sets that grow with a file: a file's ids (to find duplicates) and a
 * referenced file's ids (to check references). ASCII ids — in practice all of them — are kept as
 * bytes in one buffer, found through an open-addressing table of hashes and offsets. Against a
 * `Set<string>` of a million ids this takes half the memory or less, keeps no string alive, gives
 * the garbage collector nothing to trace, and probes a few compact arrays instead of a string
 * object per entry.
 *
 * Files are often sorted by sourcedId. While ids arrive in increasing order none can repeat an
 * earlier one, so they are only stored; the table is built the first time it is needed, when an id
 * arrives out of order or one is looked up. A sorted file's duplicate check then costs no hashing,
 * and its memory stays flat: past `spillAt` bytes the stored ids move to a temporary file, read
 * back only if the table is ever needed. Call `dispose()` when done, to close that file at once.
 *
 * ```ts
 * const ids = new SourcedIdSet();
 * ids.add('enr-000000001'); // true: it was new
 * ids.add('enr-000000001'); // false
 * ids.has('enr-000000001'); // true
 * ```
 */
export class SourcedIdSet {
  /** Each stored id as its length (two bytes, little-endian) followed by its characters. */
  private bytes = new Uint8Array(16 * 1024);
  private bytesUsed = 0;
  private storedCount = 0;
  /** Two numbers per slot: an id's hash, and 1 + its offset in `bytes` (0 for an empty slot). Undefined until needed. */
  private slots: Int32Array | undefined;
  /** The last id stored while ids have arrived in increasing order, before the table exists. */
  private last: string | undefined;
  private readonly others = new Set<string>();
  /** The id last found: consecutive rows often name the same class or school. */
  private lastFound: string | undefined;
  private readonly spillAt: number;
  /** The spill file (unlinked) holding the first `spilledBytes` of the stored ids, while sorted. */
  private spillFd: number | undefined;
  private spilledBytes = 0;

  constructor(options: SourcedIdSetOptions = {}) {
    this.spillAt = options.spillAt ?? DEFAULT_SPILL_AT;
  }

  /** Closes the spill file, if any. The set must not be used afterwards. */
  dispose(): void {
    this.closeSpill();
    this.bytes = new Uint8Array(0);
    this.bytesUsed = 0;
    this.slots = undefined;
  }

  /** How many ids the set holds. */
  get size(): number {
    return this.storedCount + this.others.size;
  }

  /** True when the set holds `id`. */
  has(id: string): boolean {
    if (id === this.lastFound) return true;
    const hash = asciiHash(id);
    const found = hash === undefined ? this.others.has(id) : this.find(this.table(), id, hash) >= 0;
    if (found) this.lastFound = id;
    return found;
  }

  /** Adds `id`; true when it was not there yet. */
  add(id: string): boolean {
    const hash = asciiHash(id);
    if (hash === undefined) {
      const size = this.others.size;
      return this.others.add(id).size > size;
    }
    if (this.slots === undefined && (this.last === undefined || id > this.last)) {
      if (this.bytesUsed + 2 + id.length > this.spillAt) this.spill();
      this.store(id);
      this.last = id;
      return true;
    }
    let slots = this.table();
    const found = this.find(slots, id, hash);
    if (found >= 0) return false;
    const offset = this.store(id);
    // Grow at three quarters full, so that probe runs stay short.
    if (4 * this.storedCount > 3 * (slots.length / 2)) {
      slots = this.grow(slots);
      place(slots, hash, offset);
    } else {
      slots[2 * ~found] = hash;
      slots[2 * ~found + 1] = offset + 1;
    }
    return true;
  }

  /** The slot holding `id`, or, when it is not there, ~ the empty slot where it would go. */
  private find(slots: Int32Array, id: string, hash: number): number {
    const bytes = this.bytes;
    const mask = slots.length / 2 - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = slots[2 * slot + 1]!;
      if (stored === 0) return ~slot;
      if (slots[2 * slot] !== hash) continue;
      const offset = stored - 1;
      if (bytes[offset]! + (bytes[offset + 1]! << 8) !== id.length) continue;
      let same = true;
      for (let i = 0, at = offset + 2; i < id.length; i++, at++) {
        if (bytes[at] !== id.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
  }

  /** Appends `id` (ASCII) to `bytes`; returns its offset. */
  private store(id: string): number {
    const needed = this.bytesUsed + 2 + id.length;
    if (needed > this.bytes.length) {
      const bytes = new Uint8Array(Math.max(2 * this.bytes.length, needed));
      bytes.set(this.bytes.subarray(0, this.bytesUsed));
      this.bytes = bytes;
    }
    const offset = this.bytesUsed;
    const bytes = this.bytes;
    bytes[offset] = id.length & 0xff;
    bytes[offset + 1] = id.length >>> 8;
    for (let i = 0; i < id.length; i++) bytes[offset + 2 + i] = id.charCodeAt(i);
    this.bytesUsed = needed;
    this.storedCount++;
    return offset;
  }

  /** Moves the stored bytes to the end of the spill file, opening it the first time. */
  private spill(): void {
    if (this.spillFd === undefined) {
      const dir = mkdtempSync(path.join(tmpdir(), 'rosterbridge-ids-'));
      const file = path.join(dir, 'ids');
      try {
        this.spillFd = openSync(file, 'w+', 0o600);
        unlinkSync(file);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      spillFiles.register(this, this.spillFd, this);
    }
    for (let written = 0; written < this.bytesUsed;) {
      written += writeSync(this.spillFd, this.bytes, written, this.bytesUsed - written, this.spilledBytes + written);
    }
    this.spilledBytes += this.bytesUsed;
    this.bytesUsed = 0;
  }

  /** Reads the spilled ids back in front of those in memory, so that offsets are file-wide again. */
  private unspill(): void {
    if (this.spillFd === undefined) return;
    const bytes = new Uint8Array(this.spilledBytes + Math.max(this.bytesUsed, this.spilledBytes / 8, 1024));
    for (let read = 0; read < this.spilledBytes;) {
      const n = readSync(this.spillFd, bytes, read, this.spilledBytes - read, read);
      if (n === 0) throw new Error('the spill file of a sourcedId set ended early');
      read += n;
    }
    bytes.set(this.bytes.subarray(0, this.bytesUsed), this.spilledBytes);
    this.bytes = bytes;
    this.bytesUsed += this.spilledBytes;
    this.spilledBytes = 0;
    this.closeSpill();
  }

  private closeSpill(): void {
    if (this.spillFd === undefined) return;
    spillFiles.unregister(this);
    closeSync(this.spillFd);
    this.spillFd = undefined;
  }

  /** The table, built from the stored ids the first time it is needed. */
  private table(): Int32Array {
    if (this.slots) return this.slots;
    this.unspill();
    let capacity = MIN_SLOTS;
    while (4 * (this.storedCount + 1) > 3 * capacity) capacity *= 2;
    const slots = new Int32Array(2 * capacity);
    const bytes = this.bytes;
    for (let offset = 0; offset < this.bytesUsed;) {
      const length = bytes[offset]! + (bytes[offset + 1]! << 8);
      let hash = FNV_OFFSET;
      for (let at = offset + 2; at < offset + 2 + length; at++) hash = Math.imul(hash ^ bytes[at]!, FNV_PRIME);
      place(slots, mixed(hash), offset);
      offset += 2 + length;
    }
    this.slots = slots;
    this.last = undefined;
    return slots;
  }

  /** Doubles the table, placing each id again by the hash kept with it. */
  private grow(old: Int32Array): Int32Array {
    const slots = new Int32Array(2 * old.length);
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] !== 0) place(slots, old[at]!, old[at + 1]! - 1);
    }
    this.slots = slots;
    return slots;
  }
}

/** Puts the id at `offset` with `hash` in the first empty slot from where its hash points. */
function place(slots: Int32Array, hash: number, offset: number): void {
  const mask = slots.length / 2 - 1;
  let slot = hash & mask;
  while (slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
  slots[2 * slot] = hash;
  slots[2 * slot + 1] = offset + 1;
}

/** FNV-1a of an ASCII id; undefined when the id is not ASCII or too long to be stored. */
function asciiHash(id: string): number | undefined {
  if (id.length > MAX_STORED_ID_LENGTH) return undefined;
  let hash = FNV_OFFSET;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code > 0x7f) return undefined;
    hash = Math.imul(hash ^ code, FNV_PRIME);
  }
  return mixed(hash);
}

/** Spreads the high bits of a hash into the low ones, which pick the slot. */
function mixed(hash: number): number {
  return hash ^ (hash >>> 16);
}
