import type { AcademicSession, Course, Demographics, Enrollment, Org, RosterClass, RosterEntity, RosterRecord, User } from '@rosterbridge/core';

/**
 * The payload habits of ClassLink's Roster Server that a client must tolerate. Each defaults to on.
 */
export interface ClassLinkQuirks {
  /** Booleans as `"true"`/`"false"` (enabledUser, primary, demographics flags). */
  stringBooleans?: boolean;
  /** Absent optional fields sent as `""` rather than left out. */
  emptyStrings?: boolean;
  /** Every user's `userIds` led by `{ type: 'FED', identifier: <sourcedId> }` (unless it has a FED id already). */
  fedUserIds?: boolean;
  /** References as `{ href, sourcedId, type }`; off, as `{ sourcedId, type }`. */
  refHrefs?: boolean;
  /** `/classes/{id}/students` also lists the class's teachers (seen in the wild). Default off. */
  classStudentsIncludeTeachers?: boolean;
}

/** Quirks with every default filled in. */
export type ResolvedClassLinkQuirks = Required<ClassLinkQuirks>;

/** Fills in the defaults of {@link ClassLinkQuirks}; `false` switches every quirk off. */
export function resolveClassLinkQuirks(quirks: ClassLinkQuirks | false | undefined): ResolvedClassLinkQuirks {
  if (quirks === false) return { stringBooleans: false, emptyStrings: false, fedUserIds: false, refHrefs: false, classStudentsIncludeTeachers: false };
  return {
    stringBooleans: quirks?.stringBooleans ?? true,
    emptyStrings: quirks?.emptyStrings ?? true,
    fedUserIds: quirks?.fedUserIds ?? true,
    refHrefs: quirks?.refHrefs ?? true,
    classStudentsIncludeTeachers: quirks?.classStudentsIncludeTeachers ?? false,
  };
}

/** What a rendering needs besides the record. */
export interface ClassLinkRenderContext {
  /** The service root for `href`s, without a trailing slash. */
  baseUrl: string;
  quirks: ResolvedClassLinkQuirks;
  /** An org's or academic session's children, by parent sourcedId. */
  childrenOf(entity: 'orgs' | 'academicSessions', sourcedId: string): readonly string[];
}

type Json = Record<string, unknown>;

const REF_COLLECTION: Record<string, string> = {
  org: 'orgs',
  academicSession: 'academicSessions',
  course: 'courses',
  class: 'classes',
  user: 'users',
};

/**
 * A canonical record as ClassLink's Roster Server writes it in OneRoster 1.1 JSON: references as
 * `{ href, sourcedId, type }`, `metadata` only when it has entries, plus the quirks switched on.
 */
export function renderClassLinkRecord(entity: RosterEntity, record: RosterRecord, context: ClassLinkRenderContext): Json {
  const q = context.quirks;
  const blank = (value: unknown): unknown => (value === undefined ? (q.emptyStrings ? '' : undefined) : value);
  const bool = (value: boolean | undefined): unknown => (value === undefined ? blank(undefined) : q.stringBooleans ? String(value) : value);
  const ref = (type: string, sourcedId: string | undefined): unknown => {
    if (sourcedId === undefined) return blank(undefined);
    return q.refHrefs ? { href: `${context.baseUrl}/${REF_COLLECTION[type]}/${encodeURIComponent(sourcedId)}`, sourcedId, type } : { sourcedId, type };
  };
  const refs = (type: string, sourcedIds: readonly string[]): unknown[] => sourcedIds.map((id) => ref(type, id));

  const json: Json = {
    sourcedId: record.sourcedId,
    status: record.status,
    dateLastModified: record.dateLastModified === undefined ? blank(undefined) : record.dateLastModified.toISOString(),
  };
  if (Object.keys(record.metadata).length > 0) json['metadata'] = { ...record.metadata };
  switch (entity) {
    case 'orgs': {
      const org = record as Org;
      Object.assign(json, {
        name: org.name,
        type: org.type,
        identifier: blank(org.identifier),
        parent: ref('org', org.parentSourcedId),
        children: refs('org', context.childrenOf('orgs', org.sourcedId)),
      });
      break;
    }
    case 'academicSessions': {
      const session = record as AcademicSession;
      Object.assign(json, {
        title: session.title,
        type: session.type,
        startDate: session.startDate,
        endDate: session.endDate,
        parent: ref('academicSession', session.parentSourcedId),
        children: refs('academicSession', context.childrenOf('academicSessions', session.sourcedId)),
        schoolYear: session.schoolYear,
      });
      break;
    }
    case 'courses': {
      const course = record as Course;
      Object.assign(json, {
        title: course.title,
        schoolYear: ref('academicSession', course.schoolYearSourcedId),
        courseCode: blank(course.courseCode),
        grades: [...course.grades],
        subjects: [...course.subjects],
        org: ref('org', course.orgSourcedId),
        subjectCodes: [...course.subjectCodes],
      });
      break;
    }
    case 'classes': {
      const rosterClass = record as RosterClass;
      Object.assign(json, {
        title: rosterClass.title,
        classCode: blank(rosterClass.classCode),
        classType: rosterClass.classType,
        location: blank(rosterClass.location),
        grades: [...rosterClass.grades],
        subjects: [...rosterClass.subjects],
        course: ref('course', rosterClass.courseSourcedId),
        school: ref('org', rosterClass.schoolSourcedId),
        terms: refs('academicSession', rosterClass.termSourcedIds),
        subjectCodes: [...rosterClass.subjectCodes],
        periods: [...rosterClass.periods],
      });
      break;
    }
    case 'users': {
      const user = record as User;
      const userIds = user.userIds.map((id) => ({ type: id.type, identifier: id.identifier }));
      if (q.fedUserIds && !userIds.some((id) => id.type === 'FED')) userIds.unshift({ type: 'FED', identifier: user.sourcedId });
      Object.assign(json, {
        username: user.username,
        userIds,
        enabledUser: bool(user.enabledUser),
        givenName: user.givenName,
        familyName: user.familyName,
        middleName: blank(user.middleName),
        role: user.role,
        identifier: blank(user.identifier),
        email: blank(user.email),
        sms: blank(user.sms),
        phone: blank(user.phone),
        agents: refs('user', user.agentSourcedIds),
        orgs: refs('org', user.orgSourcedIds),
        grades: [...user.grades],
        password: blank(user.password),
      });
      break;
    }
    case 'enrollments': {
      const enrollment = record as Enrollment;
      Object.assign(json, {
        role: enrollment.role,
        primary: bool(enrollment.primary),
        user: ref('user', enrollment.userSourcedId),
        class: ref('class', enrollment.classSourcedId),
        school: ref('org', enrollment.schoolSourcedId),
        beginDate: blank(enrollment.beginDate),
        endDate: blank(enrollment.endDate),
      });
      break;
    }
    case 'demographics': {
      const d = record as Demographics;
      Object.assign(json, {
        birthDate: blank(d.birthDate),
        sex: blank(d.sex),
        americanIndianOrAlaskaNative: bool(d.americanIndianOrAlaskaNative),
        asian: bool(d.asian),
        blackOrAfricanAmerican: bool(d.blackOrAfricanAmerican),
        nativeHawaiianOrOtherPacificIslander: bool(d.nativeHawaiianOrOtherPacificIslander),
        white: bool(d.white),
        demographicRaceTwoOrMoreRaces: bool(d.demographicRaceTwoOrMoreRaces),
        hispanicOrLatinoEthnicity: bool(d.hispanicOrLatinoEthnicity),
        countryOfBirthCode: blank(d.countryOfBirthCode),
        stateOfBirthAbbreviation: blank(d.stateOfBirthAbbreviation),
        cityOfBirth: blank(d.cityOfBirth),
        publicSchoolResidenceStatus: blank(d.publicSchoolResidenceStatus),
      });
      break;
    }
  }
  for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
  return json;
}
