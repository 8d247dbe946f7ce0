import {
  ROSTER_ENTITY_ORDER,
  type AcademicSession,
  type Course,
  type Enrollment,
  type Org,
  type RosterClass,
  type RosterEntity,
  type RosterRecord,
  type RosterRecordMap,
  type User,
} from '@rosterbridge/core';
import { DISTRICT_FAULT_KINDS, type DistrictFault, type DistrictFaultKind, type DistrictFaultReport } from './district-fault';
import type { CohortPlan } from './district-layout';
import type { GeneratedDistrict } from './generated-district';
import { FAMILY_NAMES, GIVEN_NAMES } from './person-names';
import type { RosterRecordSource } from './roster-record-source';
import { deriveSeed, normalizeSeed, SeededRandom, unitFromSeed } from './seeded-random';
import { at } from './at';

/** How to change a district for a delta. */
export interface DistrictChangeOptions {
  /** Seed of the changes (which records change and how). */
  seed: number | string;
  /** The share of the district's records to update or delete, 0 to 1 (0.01 = 1 %). */
  fraction: number;
  /** When the changes happened; every changed record's dateLastModified lies just before it. Default: the district's asOf plus 7 days. */
  changedAt?: Date | string;
  /** Students to create, each enrolled in one section of every course of a cohort. Default: a tenth of the changed share of students, at least 1 when fraction > 0. */
  createdStudents?: number;
}

/** The sourcedIds a delta touches for one entity, each list in sourcedId order. */
export interface EntityChanges {
  updated: string[];
  deleted: string[];
  created: string[];
}

/** What a delta changed. */
export interface DistrictChangeReport {
  seed: number;
  fraction: number;
  changedAt: Date;
  /** Records in the earlier district. */
  baseRecords: number;
  /** Records the fraction picked on its own (to update or delete); about `fraction × baseRecords`. */
  selected: number;
  /** Records changed because a record they refer to was deleted: enrollments and demographics deleted with their user or class, users whose agents lost someone. */
  cascaded: { updated: number; deleted: number };
  /** Everything in the delta, per entity. */
  entities: Record<RosterEntity, EntityChanges>;
}

const enum Fate {
  Unchanged = 0,
  Updated = 1,
  Deleted = 2,
  CascadeUpdated = 3,
  CascadeDeleted = 4,
}

const ENTITY_TAG: Record<RosterEntity, number> = {
  orgs: 1,
  academicSessions: 2,
  courses: 3,
  classes: 4,
  users: 5,
  enrollments: 6,
  demographics: 7,
};
const DELETABLE: ReadonlySet<RosterEntity> = new Set(['classes', 'users', 'enrollments']);
const DELETE_SHARE = 0.3;
const STREAM_CREATE = 200;
const STREAM_UPDATE = 201;
const STREAM_CHANGED_AT = 202;
const CHANGE_WINDOW_SECONDS = 6 * 3600;

/** A record of the delta: one the earlier district had (by its number there), or one the delta creates. */
interface DeltaEntry<E extends RosterEntity> {
  fate: Fate;
  sourcedId: string;
  build: () => RosterRecord<E>;
}

/**
 * The district a delta leads to: an earlier {@link GeneratedDistrict} with a deterministic share of
 * its records updated or deleted and a few students created. As a {@link RosterRecordSource} it
 * yields the full later roster (what a full resync reads); {@link delta} yields only what changed,
 * with status and a later dateLastModified (what a delta sync reads). Like the district, it streams:
 * each record's fate is a function of the change seed and the record's number.
 *
 * ```ts
 * const changed = changeDistrict(district, { seed: 7, fraction: 0.01 });
 * await writeOneRosterPackage(changed.delta, '/tmp/delta', { mode: 'delta' });
 * await writeOneRosterPackage(changed, '/tmp/after');
 * ```
 */
export class ChangedDistrict implements RosterRecordSource {
  readonly seed: number;
  readonly fraction: number;
  readonly changedAt: Date;
  readonly createdStudents: number;
  /** Only the changed records: updated and created ones active, deleted ones `tobedeleted`. */
  readonly delta: RosterRecordSource;
  private createdCohorts: CohortPlan[] | undefined;
  private cachedReport: DistrictChangeReport | undefined;

  constructor(
    readonly base: GeneratedDistrict,
    options: DistrictChangeOptions,
  ) {
    if (!(options.fraction >= 0 && options.fraction <= 1)) throw new RangeError(`fraction must be between 0 and 1, got ${options.fraction}`);
    this.seed = normalizeSeed(options.seed);
    this.fraction = options.fraction;
    this.changedAt = options.changedAt === undefined ? new Date(base.asOf.getTime() + 7 * 86_400_000) : new Date(options.changedAt);
    if (Number.isNaN(this.changedAt.getTime())) throw new RangeError(`changedAt is not a date: ${String(options.changedAt)}`);
    if (this.changedAt.getTime() - CHANGE_WINDOW_SECONDS * 1000 <= base.asOf.getTime()) {
      throw new RangeError("changedAt must be more than 6 hours after the district's asOf");
    }
    const students = base.layout.studentCount;
    this.createdStudents = options.createdStudents ?? (this.fraction > 0 ? Math.max(1, Math.round((students * this.fraction) / 10)) : 0);
    if (!Number.isSafeInteger(this.createdStudents) || this.createdStudents < 0) throw new RangeError('createdStudents must be a whole number');
    this.delta = { records: (entity) => this.deltaRecords(entity) };
  }

  /** The full later roster of one entity, in sourcedId order: deleted records left out, updated ones changed, created ones last. */
  *records<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>> {
    for (const entry of this.entries(entity)) {
      if (entry.fate !== Fate.Deleted && entry.fate !== Fate.CascadeDeleted) yield entry.build();
    }
  }

  /** What changed, per entity (computed on first use by a pass over the district's record numbers). */
  get report(): DistrictChangeReport {
    if (this.cachedReport) return this.cachedReport;
    const entities = Object.fromEntries(
      ROSTER_ENTITY_ORDER.map((e): [RosterEntity, EntityChanges] => [e, { updated: [], deleted: [], created: [] }]),
    ) as Record<RosterEntity, EntityChanges>;
    let selected = 0;
    const cascaded = { updated: 0, deleted: 0 };
    for (const entity of ROSTER_ENTITY_ORDER) {
      if (entity === 'demographics' && !this.base.includesDemographics) continue;
      const changes = entities[entity];
      const baseCount = this.base.counts[entity];
      let index = 0;
      for (const entry of this.entries(entity)) {
        const isBase = index++ < baseCount;
        if (isBase && this.isSelected(entity, index - 1)) selected++;
        switch (entry.fate) {
          case Fate.Unchanged:
            break;
          case Fate.Updated:
            (isBase ? changes.updated : changes.created).push(entry.sourcedId);
            break;
          case Fate.CascadeUpdated:
            changes.updated.push(entry.sourcedId);
            cascaded.updated++;
            break;
          case Fate.Deleted:
            changes.deleted.push(entry.sourcedId);
            break;
          case Fate.CascadeDeleted:
            changes.deleted.push(entry.sourcedId);
            cascaded.deleted++;
            break;
        }
      }
    }
    const baseRecords = ROSTER_ENTITY_ORDER.reduce((sum, e) => sum + this.base.counts[e], 0);
    this.cachedReport = { seed: this.seed, fraction: this.fraction, changedAt: this.changedAt, baseRecords, selected, cascaded, entities };
    return this.cachedReport;
  }

  /** How many records of each entity the later roster has. */
  get counts(): Record<RosterEntity, number> {
    const report = this.report;
    return Object.fromEntries(
      ROSTER_ENTITY_ORDER.map((e) => [e, this.base.counts[e] - report.entities[e].deleted.length + report.entities[e].created.length]),
    ) as Record<RosterEntity, number>;
  }

  /** The base district's faults that survive the changes (records carrying them, and duplicates' originals, not deleted). */
  get faults(): DistrictFaultReport {
    const deleted = new Set([...this.report.entities.users.deleted, ...this.report.entities.classes.deleted]);
    return Object.fromEntries(
      DISTRICT_FAULT_KINDS.map((kind) => [
        kind,
        this.base.faults[kind].filter((f) => !deleted.has(f.sourcedId) && !(f.kind === 'duplicateEmails' && deleted.has(f.relatedSourcedId!))),
      ]),
    ) as Record<DistrictFaultKind, DistrictFault[]>;
  }

  /** The base district's multi-school users that are not deleted. */
  get multiSchoolUsers(): string[] {
    const deleted = new Set(this.report.entities.users.deleted);
    return this.base.multiSchoolUsers.filter((id) => !deleted.has(id));
  }

  private *deltaRecords<E extends RosterEntity>(entity: E): Iterable<RosterRecord<E>> {
    for (const entry of this.entries(entity)) if (entry.fate !== Fate.Unchanged) yield entry.build();
  }

  // --- fates ---------------------------------------------------------------------------------

  private isSelected(entity: RosterEntity, index: number): boolean {
    return unitFromSeed(deriveSeed(this.seed, ENTITY_TAG[entity], index)) < this.fraction;
  }

  /** The fate the fraction gives a record on its own: unchanged, updated or (where allowed) deleted. */
  private direct(entity: RosterEntity, index: number): Fate {
    if (!this.isSelected(entity, index)) return Fate.Unchanged;
    if (DELETABLE.has(entity) && unitFromSeed(deriveSeed(this.seed, ENTITY_TAG[entity], index, 1)) < DELETE_SHARE) return Fate.Deleted;
    return Fate.Updated;
  }

  private userDeleted(u: number): boolean {
    return this.direct('users', u) === Fate.Deleted;
  }

  /** The agents of user `u` after deletions, or undefined when none of them is deleted. */
  private survivingAgents(u: number, agents: string[]): string[] | undefined {
    const B = this.base;
    let related: number[] = [];
    if (u < B.firstTeacher) {
      const family = B.layout.familyOfStudent(u);
      if (family >= 0) {
        related.push(B.firstGuardian + family);
        const coParent = B.layout.coParentOfFamily(family);
        if (coParent >= 0) related.push(B.firstGuardian + B.layout.primaryGuardianCount + coParent);
      }
    } else if (u >= B.firstGuardian) {
      related = B.childrenOf(u - B.firstGuardian);
    }
    const gone = new Set(related.filter((r) => this.userDeleted(r)).map((r) => B.userSourcedId(r)));
    return gone.size === 0 ? undefined : agents.filter((id) => !gone.has(id));
  }

  private userHasDeletedAgent(u: number): boolean {
    const B = this.base;
    if (u < B.firstTeacher) {
      const family = B.layout.familyOfStudent(u);
      if (family < 0) return false;
      if (this.userDeleted(B.firstGuardian + family)) return true;
      const coParent = B.layout.coParentOfFamily(family);
      return coParent >= 0 && this.userDeleted(B.firstGuardian + B.layout.primaryGuardianCount + coParent);
    }
    if (u >= B.firstGuardian) return B.childrenOf(u - B.firstGuardian).some((child) => this.userDeleted(child));
    return false;
  }

  // --- entries -------------------------------------------------------------------------------

  private *entries<E extends RosterEntity>(entity: E): Generator<DeltaEntry<E>> {
    const all: { [K in RosterEntity]: () => Generator<DeltaEntry<K>> } = {
      orgs: () =>
        this.simpleEntries(
          'orgs',
          (i) => this.base.org(i),
          (r, random) => this.updateOrg(r, random),
        ),
      academicSessions: () =>
        this.simpleEntries(
          'academicSessions',
          (i) => this.base.academicSession(i),
          (r) => this.updateSession(r),
        ),
      courses: () =>
        this.simpleEntries(
          'courses',
          (i) => this.base.course(i),
          (r) => this.updateCourse(r),
        ),
      classes: () =>
        this.simpleEntries(
          'classes',
          (i) => this.base.rosterClass(i),
          (r, random) => this.updateClass(r, random),
        ),
      users: () => this.userEntries(),
      enrollments: () => this.enrollmentEntries(),
      demographics: () => this.demographicsEntries(),
    };
    yield* all[entity]() as Generator<DeltaEntry<E>>;
  }

  private *simpleEntries<E extends RosterEntity>(
    entity: E,
    record: (index: number) => RosterRecordMap[E],
    update: (record: RosterRecordMap[E], random: SeededRandom) => RosterRecordMap[E],
  ): Generator<DeltaEntry<E>> {
    const count = this.base.counts[entity];
    const ids = (i: number): string => {
      switch (entity) {
        case 'orgs':
          return this.base.orgSourcedId(i);
        case 'courses':
          return this.base.courseSourcedId(i);
        case 'classes':
          return this.base.classSourcedId(i);
        default:
          return this.base.academicSession(i).sourcedId;
      }
    };
    for (let i = 0; i < count; i++) {
      const fate = this.direct(entity, i);
      yield {
        fate,
        sourcedId: ids(i),
        build: () => this.finish(entity, i, fate, record(i), (r) => update(r, this.updateRandom(entity, i))),
      };
    }
  }

  private *userEntries(): Generator<DeltaEntry<'users'>> {
    const B = this.base;
    for (let u = 0; u < B.userCount; u++) {
      let fate = this.direct('users', u);
      if (fate === Fate.Unchanged && this.userHasDeletedAgent(u)) fate = Fate.CascadeUpdated;
      yield {
        fate,
        sourcedId: B.userSourcedId(u),
        build: () => {
          const user = B.user(u);
          if (fate === Fate.Deleted) return this.finish('users', u, fate, user, (r) => r);
          const agents = this.survivingAgents(u, user.agentSourcedIds);
          const withAgents = agents ? { ...user, agentSourcedIds: agents } : user;
          return this.finish('users', u, fate, withAgents, (r) => (fate === Fate.Updated ? this.updateUser(u, r) : r));
        },
      };
    }
    for (let k = 0; k < this.createdStudents; k++) {
      const u = B.userCount + k;
      yield { fate: Fate.Updated, sourcedId: B.userSourcedId(u), build: () => this.createdStudent(k) };
    }
  }

  private *enrollmentEntries(): Generator<DeltaEntry<'enrollments'>> {
    const B = this.base;
    const L = B.layout;
    for (let c = 0; c < L.classCount; c++) {
      const classDeleted = this.direct('classes', c) === Fate.Deleted;
      const slots = B.enrollmentSlots(c);
      for (let slot = 0; slot < slots; slot++) {
        const e = at(L.classEnrollmentStart, c) + slot;
        let fate = this.direct('enrollments', e);
        if (fate !== Fate.Deleted && (classDeleted || this.userDeleted(B.enrollmentUser(c, slot)))) fate = Fate.CascadeDeleted;
        yield {
          fate,
          sourcedId: B.enrollmentSourcedId(e),
          build: () => this.finish('enrollments', e, fate, B.enrollment(c, slot), (r) => this.updateEnrollment(r, this.updateRandom('enrollments', e))),
        };
      }
    }
    let e = L.enrollmentCount;
    for (let k = 0; k < this.createdStudents; k++) {
      const u = B.userCount + k;
      for (const c of this.classesOfCreatedStudent(k)) {
        const index = e++;
        yield {
          fate: Fate.Updated,
          sourcedId: B.enrollmentSourcedId(index),
          build: () => ({ ...B.enrollmentRecord(index, c, u, 'student'), dateLastModified: this.modifiedAt('enrollments', index) }),
        };
      }
    }
  }

  private *demographicsEntries(): Generator<DeltaEntry<'demographics'>> {
    const B = this.base;
    if (!B.includesDemographics) return;
    for (let i = 0; i < B.layout.studentCount; i++) {
      const fate = this.userDeleted(i) ? Fate.CascadeDeleted : this.direct('demographics', i) === Fate.Unchanged ? Fate.Unchanged : Fate.Updated;
      yield {
        fate,
        sourcedId: B.userSourcedId(i),
        build: () =>
          this.finish('demographics', i, fate, B.demographicsOf(i, B.layout.cohortOfStudent(i).grade), (r) => ({
            ...r,
            hispanicOrLatinoEthnicity: !r.hispanicOrLatinoEthnicity,
          })),
      };
    }
    for (let k = 0; k < this.createdStudents; k++) {
      const u = B.userCount + k;
      yield {
        fate: Fate.Updated,
        sourcedId: B.userSourcedId(u),
        build: () => ({ ...B.demographicsOf(u, this.cohortOfCreatedStudent(k).grade), dateLastModified: this.modifiedAt('demographics', u) }),
      };
    }
  }

  /** Applies a record's fate: unchanged as is; deleted marked `tobedeleted`; updated changed by `update`. Changed records get a later dateLastModified. */
  private finish<R extends RosterRecord>(entity: RosterEntity, index: number, fate: Fate, record: R, update: (record: R) => R): R {
    switch (fate) {
      case Fate.Unchanged:
        return record;
      case Fate.Deleted:
      case Fate.CascadeDeleted:
        return { ...record, status: 'tobedeleted', dateLastModified: this.modifiedAt(entity, index) };
      default:
        return { ...update(record), dateLastModified: this.modifiedAt(entity, index) };
    }
  }

  private modifiedAt(entity: RosterEntity, index: number): Date {
    const secondsBefore = deriveSeed(this.seed, STREAM_CHANGED_AT, ENTITY_TAG[entity], index) % CHANGE_WINDOW_SECONDS;
    return new Date(this.changedAt.getTime() - secondsBefore * 1000);
  }

  private updateRandom(entity: RosterEntity, index: number): SeededRandom {
    return new SeededRandom(deriveSeed(this.seed, STREAM_UPDATE, ENTITY_TAG[entity], index));
  }

  // --- updates -------------------------------------------------------------------------------

  private updateOrg(org: Org, random: SeededRandom): Org {
    return { ...org, name: `${org.name} (${random.pick(['North', 'South', 'East', 'West', 'Central'])} Campus)` };
  }

  private updateSession(session: AcademicSession): AcademicSession {
    return { ...session, title: session.type === 'schoolYear' ? `School Year ${session.title}` : session.title.replace(' ', ' Semester ') };
  }

  private updateCourse(course: Course): Course {
    return { ...course, title: `${course.title} (Honors)`, courseCode: course.courseCode === undefined ? 'H' : `${course.courseCode}H` };
  }

  private updateClass(rosterClass: RosterClass, random: SeededRandom): RosterClass {
    switch (random.int(3)) {
      case 0:
        return { ...rosterClass, location: `Room ${500 + random.int(100)}` };
      case 1:
        return { ...rosterClass, periods: [String(1 + (Number(rosterClass.periods[0] ?? 0) % 7))] };
      default:
        return { ...rosterClass, title: `${rosterClass.title} – Honors` };
    }
  }

  /**
   * A user's change: a new family name (username and email follow), a new given name, a new middle
   * name or phone, or an account switched off. Users carrying a fault (or whose email a duplicate
   * copies) keep their email and grades, so the fault survives the change.
   */
  private updateUser(u: number, user: User): User {
    const B = this.base;
    const random = this.updateRandom('users', u);
    const kinds = B.faultPlan.involves(u) ? ['givenName', 'contact'] : ['familyName', 'familyName', 'givenName', 'contact', 'disabled'];
    const kind = random.pick(kinds);
    const other = (names: readonly string[], current: string): string => {
      let name = random.pick(names);
      while (name === current) name = random.pick(names);
      return name;
    };
    switch (kind) {
      case 'familyName': {
        const familyName = other(FAMILY_NAMES, user.familyName);
        const person = B.person(u, undefined, familyName);
        const username = user.role === 'guardian' ? person.email : person.username;
        return {
          ...user,
          familyName,
          username,
          email: user.email === undefined ? undefined : person.email,
          userIds: user.userIds.map((id) => (id.type === 'LDAP' ? { ...id, identifier: username } : id)),
        };
      }
      case 'givenName':
        return { ...user, givenName: other(GIVEN_NAMES, user.givenName) };
      case 'disabled':
        if (user.role !== 'guardian' && user.enabledUser) return { ...user, enabledUser: false };
        return { ...user, givenName: other(GIVEN_NAMES, user.givenName) };
      default: {
        if (user.role !== 'guardian' && user.phone === undefined) return { ...user, middleName: other(GIVEN_NAMES, user.middleName ?? '') };
        let phone = `(${random.between(201, 989)}) 555-01${String(random.int(100)).padStart(2, '0')}`;
        if (phone === user.phone) phone += ' ext. 2';
        return { ...user, phone, sms: user.sms === undefined ? undefined : phone };
      }
    }
  }

  private updateEnrollment(enrollment: Enrollment, random: SeededRandom): Enrollment {
    // The user left the class partway through its term.
    const begin = Date.parse(`${enrollment.beginDate}T00:00:00Z`);
    const endDate = new Date(begin + (20 + random.int(40)) * 86_400_000).toISOString().slice(0, 10);
    return { ...enrollment, endDate };
  }

  // --- created students ----------------------------------------------------------------------

  private cohortOfCreatedStudent(k: number): CohortPlan {
    if (!this.createdCohorts) this.createdCohorts = this.base.layout.cohorts.filter((c) => c.studentCount > 0 && c.courses.length > 0);
    const random = new SeededRandom(deriveSeed(this.seed, STREAM_CREATE, k));
    return random.pick(this.createdCohorts);
  }

  private classesOfCreatedStudent(k: number): number[] {
    const cohort = this.cohortOfCreatedStudent(k);
    const classes: number[] = [];
    for (const course of cohort.courses) {
      const c = at(course.classes, k % course.classes.length);
      if (this.direct('classes', c) !== Fate.Deleted) classes.push(c);
    }
    return classes;
  }

  private createdStudent(k: number): User {
    const B = this.base;
    const u = B.userCount + k;
    const cohort = this.cohortOfCreatedStudent(k);
    const user = B.student(u, cohort, [B.orgSourcedId(cohort.school + 1)], []);
    return { ...user, dateLastModified: this.modifiedAt('users', u) };
  }
}

/**
 * Changes a district for a delta: a share `fraction` of its records (chosen by `seed`) updated or
 * deleted, records that refer to deleted ones deleted or updated with them, and a few students
 * created with their enrollments.
 *
 * ```ts
 * const changed = changeDistrict(generateDistrict({ seed: 42, size: 'small' }), { seed: 42, fraction: 0.01 });
 * changed.report.entities.users.deleted;   // ['usr-00000031', …]
 * ```
 */
export function changeDistrict(base: GeneratedDistrict, options: DistrictChangeOptions): ChangedDistrict {
  return new ChangedDistrict(base, options);
}

/** How many records a delta carries: each one it updates, deletes (cascades included) or creates. */
export function deltaRecordCount(report: DistrictChangeReport): number {
  return ROSTER_ENTITY_ORDER.reduce(
    (sum, e) => sum + report.entities[e].updated.length + report.entities[e].deleted.length + report.entities[e].created.length,
    0,
  );
}

/**
 * The change fraction whose delta carries `share` of the district's records, cascades and created
 * students included. `fraction` picks records on their own, and a user or class deleted takes its
 * enrollments (and demographics) with it, so a delta of fraction 0.01 carries about 1.7% of a
 * generated district's records. Found by bisection (the delta only grows with the fraction, for one
 * seed), to within `tolerance` of the wanted count (relative, default 1%), or as near as a district
 * too small for that allows (its delta grows in steps).
 *
 * ```ts
 * const fraction = fractionForDeltaShare(district, { seed: 8, share: 0.01 });
 * deltaRecordCount(changeDistrict(district, { seed: 8, fraction }).report); // ≈ 1% of the records
 * ```
 */
export function fractionForDeltaShare(base: GeneratedDistrict, options: { seed: number | string; share: number; tolerance?: number }): number {
  const { seed, share, tolerance = 0.01 } = options;
  if (!(share > 0 && share < 1)) throw new RangeError(`share must be between 0 and 1 (exclusive), got ${share}`);
  const report = (fraction: number) => changeDistrict(base, { seed, fraction }).report;
  const records = (fraction: number) => deltaRecordCount(report(fraction));
  const wanted = share * report(0).baseRecords;
  let low = 0;
  let high = share;
  while (records(high) < wanted) {
    low = high;
    high = Math.min(1, high * 2);
    if (high === 1) break;
  }
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    const n = records(mid);
    if (Math.abs(n - wanted) <= tolerance * wanted) return mid;
    if (n < wanted) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}
