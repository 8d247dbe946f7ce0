import type { AcademicSession, Course, Enrollment, Org, RosterClass, RosterEntity, RosterRecord, User } from '@rosterbridge/core';

/**
 * The order a {@link SchoolScopeBuilder} is fed the snapshot's entities in: each decides on what
 * the ones before it chose (a class by its school, an enrollment by its class, a user by its orgs
 * and enrollments, a course by its org and classes, demographics by their user).
 */
export const SCHOOL_SCOPE_ORDER: readonly RosterEntity[] = Object.freeze([
  'orgs',
  'classes',
  'enrollments',
  'users',
  'courses',
  'academicSessions',
  'demographics',
] as const);

/**
 * The records of a roster that belong to chosen schools, by entity ("start with one school"):
 *
 * - orgs: the schools, the orgs below them (departments), and the orgs above them (the district),
 *   so that every org reference of a record in scope resolves;
 * - classes: those of a school in scope (`school`);
 * - enrollments: those in a class in scope;
 * - users: those belonging to a school in scope (`orgs`) or enrolled in a class in scope, and the
 *   agents (parents, guardians) of those;
 * - courses: those of a school in scope (`org`) or taught by a class in scope;
 * - academicSessions: every one (a district's calendar is every school's);
 * - demographics: those of a user in scope.
 *
 * A record outside the scope is not absent: a scoped preview delivers only what is in scope, and
 * deletes nothing for being outside it.
 */
export class SchoolScope {
  constructor(private readonly ids: ReadonlyMap<RosterEntity, ReadonlySet<string>>) {}

  /** Whether the record of `entity` with this sourcedId is in the scope. */
  has(entity: RosterEntity, sourcedId: string): boolean {
    return entity === 'academicSessions' || (this.ids.get(entity)?.has(sourcedId) ?? false);
  }

  /** How many records of each entity the scope holds (academic sessions: every one, not counted). */
  sizes(): Partial<Record<RosterEntity, number>> {
    return Object.fromEntries([...this.ids].filter(([e]) => e !== 'academicSessions').map(([e, s]) => [e, s.size]));
  }

  /** The records in either scope: a record in scope before a run's changes, or after them, is in scope. */
  union(other: SchoolScope): SchoolScope {
    const ids = new Map<RosterEntity, Set<string>>();
    for (const scope of [this, other])
      for (const [entity, set] of scope.ids) {
        const into = ids.get(entity) ?? new Set<string>();
        for (const id of set) into.add(id);
        ids.set(entity, into);
      }
    return new SchoolScope(ids);
  }
}

/**
 * Builds a {@link SchoolScope} from a roster read entity by entity in {@link SCHOOL_SCOPE_ORDER},
 * each in pages (`add`). Holds the orgs' tree and the ids in scope, nothing else.
 */
export class SchoolScopeBuilder {
  private readonly schools: ReadonlySet<string>;
  /** Every org's parent (null: none), to walk up and down the tree. */
  private readonly parents = new Map<string, string | null>();
  /** The schools and the orgs below them: what a class or a user in scope belongs to. */
  private below?: Set<string>;
  private readonly ids = new Map<RosterEntity, Set<string>>(SCHOOL_SCOPE_ORDER.map((e) => [e, new Set<string>()]));
  /** Courses the classes in scope teach, users enrolled in them, agents of users in scope. */
  private readonly taught = new Set<string>();
  private readonly enrolled = new Set<string>();
  private readonly agents = new Set<string>();
  private at = 0;

  constructor(schools: readonly string[]) {
    this.schools = new Set(schools);
  }

  /** Adds a page of the snapshot's records of `entity`; entities come in {@link SCHOOL_SCOPE_ORDER}. */
  add(entity: RosterEntity, records: readonly RosterRecord[]): void {
    const index = SCHOOL_SCOPE_ORDER.indexOf(entity);
    if (index < this.at) throw new Error(`school scope: ${entity} came after ${SCHOOL_SCOPE_ORDER[this.at]}`);
    this.at = index;
    if (entity !== 'orgs') this.closeOrgs();
    const into = this.ids.get(entity)!;
    for (const record of records) {
      if (record.status === 'tobedeleted') continue;
      const id = record.sourcedId;
      switch (entity) {
        case 'orgs':
          this.parents.set(id, (record as Org).parentSourcedId ?? null);
          break;
        case 'classes': {
          const c = record as RosterClass;
          if (this.below!.has(c.schoolSourcedId)) {
            into.add(id);
            this.taught.add(c.courseSourcedId);
          }
          break;
        }
        case 'enrollments': {
          const e = record as Enrollment;
          if (this.ids.get('classes')!.has(e.classSourcedId)) {
            into.add(id);
            this.enrolled.add(e.userSourcedId);
          }
          break;
        }
        case 'users': {
          const u = record as User;
          if (this.enrolled.has(id) || u.orgSourcedIds.some((o) => this.below!.has(o))) {
            into.add(id);
            for (const agent of u.agentSourcedIds) this.agents.add(agent);
          }
          break;
        }
        case 'courses': {
          const c = record as Course;
          if (this.taught.has(id) || this.below!.has(c.orgSourcedId)) into.add(id);
          break;
        }
        case 'academicSessions':
          into.add((record as AcademicSession).sourcedId);
          break;
        case 'demographics':
          if (this.ids.get('users')!.has(id) || this.agents.has(id)) into.add(id);
          break;
      }
    }
  }

  /** The schools asked for that are not orgs of the roster read (once the orgs are in). */
  unknownSchools(): string[] {
    return [...this.schools].filter((s) => !this.parents.has(s));
  }

  build(): SchoolScope {
    this.closeOrgs();
    const ids = new Map(this.ids);
    // Agents of users in scope are users in scope.
    ids.set('users', new Set([...this.ids.get('users')!, ...this.agents]));
    return new SchoolScope(ids);
  }

  /** Once every org is in: the orgs in scope (the schools, those below and above them). */
  private closeOrgs(): void {
    if (this.below) return;
    const children = new Map<string, string[]>();
    for (const [id, parent] of this.parents) if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), id]);
    const below = new Set<string>();
    const walkDown = [...this.schools].filter((s) => this.parents.has(s));
    while (walkDown.length > 0) {
      const id = walkDown.pop()!;
      if (below.has(id)) continue;
      below.add(id);
      walkDown.push(...(children.get(id) ?? []));
    }
    const orgs = this.ids.get('orgs')!;
    for (const id of below) orgs.add(id);
    for (const school of this.schools) {
      // Up the tree, guarded against a cycle in the source's parents.
      for (let p = this.parents.get(school) ?? null; p !== null && !orgs.has(p); p = this.parents.get(p) ?? null) orgs.add(p);
    }
    this.below = below;
  }
}
