import type { SyncDisposable } from '../base/lifecycle';
import { ROSTER_ENTITY_ORDER, type RosterEntity, isRosterEntity } from '../roster/roster-entity';
import type { RosterRecord } from '../roster/roster-record';
import type { RosterChange } from './roster-change';

/**
 * A change contract named in a manifest: `roster.<entity>@<version>`, what a source `produces` and a
 * target `consumes`.
 */
export interface RosterContract {
  entity: RosterEntity;
  version: number;
}

/** The shape of a contract name; the entity and the version are checked apart ({@link parseRosterContract}). */
const CONTRACT = /^roster\.([A-Za-z]+)@(\d+)$/;

/** Why a contract name was refused: a stable code, and what is wrong. */
export interface ContractProblem {
  code: 'CONTRACT_MALFORMED' | 'CONTRACT_UNKNOWN_ENTITY' | 'CONTRACT_BAD_VERSION';
  message: string;
}

/** Reads `roster.users@1`: the entity must be a roster entity, the version a positive integer. */
export function parseRosterContract(name: unknown): { ok: true; contract: RosterContract } | ({ ok: false } & ContractProblem) {
  const match = typeof name === 'string' ? CONTRACT.exec(name) : null;
  if (!match)
    return { ok: false, code: 'CONTRACT_MALFORMED', message: `${JSON.stringify(name)} is not a change contract with version, such as "roster.users@1"` };
  const [, entity, digits] = match as unknown as [string, string, string];
  if (!isRosterEntity(entity))
    return { ok: false, code: 'CONTRACT_UNKNOWN_ENTITY', message: `"${name}" names no roster entity (${ROSTER_ENTITY_ORDER.join(', ')})` };
  const version = Number(digits);
  if (!Number.isSafeInteger(version) || version < 1 || digits !== String(version))
    return { ok: false, code: 'CONTRACT_BAD_VERSION', message: `"${name}" has version ${digits}; a version is a positive integer without leading zeros` };
  return { ok: true, contract: { entity, version } };
}

/** `roster.<entity>@<version>`. */
export function contractName(contract: RosterContract): string {
  return `roster.${contract.entity}@${contract.version}`;
}

/**
 * Derives version N of an entity's change from version 1 (the one the engine produces): the record
 * as version N carries it. The envelope (id, seq, kind…) stays; its `type` names version N.
 */
export type ContractAdapter<E extends RosterEntity = RosterEntity> = (change: RosterChange<E>) => unknown;

/**
 * Which versions of each entity's change contract exist, and how to derive those the engine does
 * not produce. The engine's ledger holds version 1 of every entity (the canonical records of
 * `RosterRecordMap`), so version 1 is always there; any other version exists only while an adapter
 * from version 1 is registered. Today none is: a later version of an entity's contract is added by
 * registering its adapter here, and targets that still consume version 1 are delivered as before.
 */
export class RosterContracts {
  private readonly adapters = new Map<string, ContractAdapter<any>>();

  /** The versions of `entity`'s change that can be delivered, ascending. */
  versions(entity: RosterEntity): number[] {
    const versions = [1];
    for (const key of this.adapters.keys()) {
      const [name, version] = key.split('@') as [string, string];
      if (name === entity) versions.push(Number(version));
    }
    return versions.sort((a, b) => a - b);
  }

  /**
   * Registers how version `version` (2 or more) of `entity`'s change is derived from version 1.
   * Dispose to take it back. Throws when that version is registered already.
   */
  register<E extends RosterEntity>(entity: E, version: number, adapt: ContractAdapter<E>): SyncDisposable {
    if (!Number.isSafeInteger(version) || version < 2) throw new Error(`contract roster.${entity}@${version}: only versions from 2 on are derived`);
    const key = `${entity}@${version}`;
    if (this.adapters.has(key)) throw new Error(`contract roster.${key} is registered already`);
    this.adapters.set(key, adapt);
    return {
      dispose: () => {
        if (this.adapters.get(key) === adapt) this.adapters.delete(key);
      },
    };
  }

  /**
   * Whether `wanted` can be delivered when the sources produce `produced`: a version some source
   * produces, or one derived from version 1 of the entity when a source produces that.
   */
  satisfies(wanted: RosterContract, produced: readonly RosterContract[]): boolean {
    const ofEntity = produced.filter((p) => p.entity === wanted.entity);
    if (ofEntity.some((p) => p.version === wanted.version)) return true;
    return ofEntity.some((p) => p.version === 1) && this.adapters.has(`${wanted.entity}@${wanted.version}`);
  }

  /**
   * `change` (version 1, as the engine builds it) as version `version` of its contract: the same
   * change for version 1, else the registered adapter's record under a `type` naming the version.
   */
  deliver<E extends RosterEntity>(change: RosterChange<E>, version: number): RosterChange<E> {
    if (version === 1) return change;
    const adapt = this.adapters.get(`${change.data.entity}@${version}`);
    if (!adapt) throw new Error(`no adapter derives roster.${change.data.entity}@${version} from version 1`);
    const record = adapt(change) as RosterRecord<E>;
    const type = `roster.${change.data.entity}.${change.data.kind === 'deleted' ? 'deleted' : 'changed'}@${version}`;
    return { ...change, type, data: { ...change.data, record } } as RosterChange<E>;
  }
}

/** The host's registry of change contracts: version 1 of every entity, and whatever is registered. */
export const rosterContracts = new RosterContracts();

/** A contract a target consumes that the sources produce in other versions only. */
export interface UnmetContract {
  target: string;
  contract: string;
  /** The versions of the same entity the sources considered produce. */
  produced: string[];
}

/**
 * The contracts of `consumes` (a target's) whose entity the sources (`produces`) produce, but in no
 * version that satisfies it, directly or through an adapter of `contracts`. An entity no source
 * produces at all is not a conflict of versions: the target is delivered none of its changes, as
 * with a source that reads only some entities. Names that do not parse are left to the manifest check.
 */
export function unmetContracts(
  target: string,
  consumes: readonly string[],
  produces: readonly string[],
  contracts: RosterContracts = rosterContracts,
): UnmetContract[] {
  const produced = produces.flatMap((p) => {
    const r = parseRosterContract(p);
    return r.ok ? [r.contract] : [];
  });
  const unmet: UnmetContract[] = [];
  for (const name of consumes) {
    const r = parseRosterContract(name);
    if (!r.ok || contracts.satisfies(r.contract, produced)) continue;
    const same = produced.filter((p) => p.entity === r.contract.entity).map(contractName);
    if (same.length > 0) unmet.push({ target, contract: name, produced: [...new Set(same)] });
  }
  return unmet;
}

/**
 * `target fixture-v2 consumes roster.users@2, which no installed source produces (sources produce
 * roster.users@1)`, one clause per unmet contract; `sources` names who was asked.
 */
export function describeUnmetContracts(unmet: readonly UnmetContract[], sources = 'no installed source'): string {
  return unmet.map((u) => `target ${u.target} consumes ${u.contract}, which ${sources} produces (sources produce ${u.produced.join(', ')})`).join('; ');
}
