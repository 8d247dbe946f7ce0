import type { Enrollment, Org, RosterClass, RosterEntity, RosterRecord, User, AcademicSession, Course } from '@rosterbridge/core';
import type { OneRosterDataset } from './oneroster-dataset';
import { SimulatorRequestError } from './simulator-request-error';

/** What a request path resolves to: a list of records, or one record. */
export type OneRosterRoute =
  | {
      kind: 'collection';
      /** The first path segment (`schools`, `classes`…), for permission checks. */
      collection: string;
      entity: RosterEntity;
      /** The JSON key of the list. */
      envelope: string;
      records: readonly RosterRecord[];
    }
  | {
      kind: 'single';
      collection: string;
      entity: RosterEntity;
      /** The JSON key of the object: singular, except `demographics`. */
      envelope: string;
      record: RosterRecord;
    };

/** Options that change what a route returns. */
export interface OneRosterRouteOptions {
  /** `/classes/{id}/students` lists the teachers too (a ClassLink quirk). */
  classStudentsIncludeTeachers: boolean;
}

const SINGULAR: Record<RosterEntity, string> = {
  orgs: 'org',
  academicSessions: 'academicSession',
  courses: 'course',
  classes: 'class',
  users: 'user',
  enrollments: 'enrollment',
  demographics: 'demographics',
};

const ALL = (): boolean => true;

/** A top-level collection: its entity and which of its records belong to it. */
const TOP_LEVEL: Record<string, { entity: RosterEntity; accepts: (record: RosterRecord) => boolean }> = {
  orgs: { entity: 'orgs', accepts: ALL },
  schools: { entity: 'orgs', accepts: (r) => (r as Org).type === 'school' },
  academicSessions: { entity: 'academicSessions', accepts: ALL },
  terms: { entity: 'academicSessions', accepts: (r) => (r as AcademicSession).type === 'term' },
  gradingPeriods: { entity: 'academicSessions', accepts: (r) => (r as AcademicSession).type === 'gradingPeriod' },
  courses: { entity: 'courses', accepts: ALL },
  classes: { entity: 'classes', accepts: ALL },
  users: { entity: 'users', accepts: ALL },
  students: { entity: 'users', accepts: (r) => (r as User).role === 'student' },
  teachers: { entity: 'users', accepts: (r) => (r as User).role === 'teacher' },
  enrollments: { entity: 'enrollments', accepts: ALL },
  demographics: { entity: 'demographics', accepts: ALL },
};

/**
 * Resolves the path below the base URL (decoded segments) to its records, as OneRoster 1.1 REST
 * defines: the collections, `/{collection}/{id}`, and the nested routes (`/schools/{id}/classes`,
 * `/schools/{id}/students`, `/schools/{id}/teachers`, `/schools/{id}/enrollments`,
 * `/schools/{id}/courses`, `/schools/{id}/terms`, `/schools/{id}/classes/{id}/students|teachers|enrollments`,
 * `/classes/{id}/students|teachers`, `/courses/{id}/classes`, `/terms/{id}/classes|gradingPeriods`,
 * `/users|students|teachers/{id}/classes`). Throws a 404 {@link SimulatorRequestError} for an
 * unknown path or a parent that does not exist.
 */
export function resolveOneRosterRoute(segments: readonly string[], dataset: OneRosterDataset, options: OneRosterRouteOptions): OneRosterRoute {
  const [collection, id, nested, nestedId, leaf] = segments;
  const top = collection === undefined ? undefined : TOP_LEVEL[collection];
  if (collection === undefined || top === undefined || segments.length > 5) throw notFound(`/${segments.join('/')} is not a OneRoster 1.1 rostering endpoint`);
  const list = (entity: RosterEntity, records: readonly RosterRecord[]): OneRosterRoute => ({
    kind: 'collection',
    collection,
    entity,
    envelope: entity,
    records,
  });
  // A whole collection is the dataset's own sorted list: copying a million records per page would make paging quadratic.
  if (id === undefined) return list(top.entity, top.accepts === ALL ? dataset.records(top.entity) : dataset.records(top.entity).filter(top.accepts));

  const parent = dataset.get(top.entity, id);
  if (parent === undefined || !top.accepts(parent)) throw notFound(`${collection}/${id} does not exist`, 'unknownobject');
  if (nested === undefined) return { kind: 'single', collection, entity: top.entity, envelope: SINGULAR[top.entity], record: parent };

  const classes = dataset.records('classes') as readonly RosterClass[];
  const enrollments = dataset.records('enrollments') as readonly Enrollment[];
  const usersIn = (classId: string, roles: readonly string[]): RosterRecord[] => {
    const ids = new Set(enrollments.filter((e) => e.classSourcedId === classId && roles.includes(e.role)).map((e) => e.userSourcedId));
    return (dataset.records('users') as readonly User[]).filter((u) => ids.has(u.sourcedId));
  };
  const classesOf = (userId: string): RosterRecord[] => {
    const ids = new Set(enrollments.filter((e) => e.userSourcedId === userId).map((e) => e.classSourcedId));
    return classes.filter((c) => ids.has(c.sourcedId));
  };
  const studentRoles = options.classStudentsIncludeTeachers ? ['student', 'teacher'] : ['student'];
  const route = `${collection}/{id}/${nested}${nestedId === undefined ? '' : `/{id}${leaf === undefined ? '' : `/${leaf}`}`}`;

  switch (route) {
    case 'schools/{id}/classes':
      return list(
        'classes',
        classes.filter((c) => c.schoolSourcedId === id),
      );
    case 'schools/{id}/enrollments':
      return list(
        'enrollments',
        enrollments.filter((e) => e.schoolSourcedId === id),
      );
    case 'schools/{id}/students':
    case 'schools/{id}/teachers': {
      const role = nested === 'students' ? 'student' : 'teacher';
      return list(
        'users',
        (dataset.records('users') as readonly User[]).filter((u) => u.role === role && u.orgSourcedIds.includes(id)),
      );
    }
    case 'schools/{id}/courses':
      return list(
        'courses',
        (dataset.records('courses') as readonly Course[]).filter((c) => c.orgSourcedId === id),
      );
    case 'schools/{id}/terms': {
      const terms = new Set(classes.filter((c) => c.schoolSourcedId === id).flatMap((c) => c.termSourcedIds));
      return list(
        'academicSessions',
        dataset.records('academicSessions').filter((s) => terms.has(s.sourcedId)),
      );
    }
    case 'schools/{id}/classes/{id}/students':
    case 'schools/{id}/classes/{id}/teachers':
    case 'schools/{id}/classes/{id}/enrollments': {
      const rosterClass = dataset.get('classes', nestedId!);
      if (rosterClass === undefined || rosterClass.schoolSourcedId !== id) throw notFound(`class ${nestedId} does not exist at school ${id}`, 'unknownobject');
      if (leaf === 'enrollments')
        return list(
          'enrollments',
          enrollments.filter((e) => e.classSourcedId === nestedId),
        );
      return list('users', usersIn(nestedId!, leaf === 'students' ? studentRoles : ['teacher']));
    }
    case 'classes/{id}/students':
      return list('users', usersIn(id, studentRoles));
    case 'classes/{id}/teachers':
      return list('users', usersIn(id, ['teacher']));
    case 'courses/{id}/classes':
      return list(
        'classes',
        classes.filter((c) => c.courseSourcedId === id),
      );
    case 'terms/{id}/classes':
      return list(
        'classes',
        classes.filter((c) => c.termSourcedIds.includes(id)),
      );
    case 'terms/{id}/gradingPeriods':
      return list(
        'academicSessions',
        (dataset.records('academicSessions') as readonly AcademicSession[]).filter((s) => s.type === 'gradingPeriod' && s.parentSourcedId === id),
      );
    case 'users/{id}/classes':
    case 'students/{id}/classes':
    case 'teachers/{id}/classes':
      return list('classes', classesOf(id));
    default:
      throw notFound(`/${segments.join('/')} is not a OneRoster 1.1 rostering endpoint`);
  }
}

function notFound(message: string, codeMinor = 'unknownobject'): SimulatorRequestError {
  return new SimulatorRequestError(404, message, codeMinor);
}
