import type { Host } from '@rosterbridge/host';
import type { RosterRecordSource } from '@rosterbridge/district-generator';

/** What {@link seedProductState} put in the products. */
export interface SeededProductState {
  /** School Manager accounts imported (undefined when the tenant does not enable School Manager). */
  schoolManagerUsers?: number;
  /**
   * Rows of the accounts file School Manager refused: an email two roster users share goes to the
   * first (a district generated with such duplicates, to test the sync's own refusal).
   */
  schoolManagerRejected?: number;
  /** The Gradient academic year started (undefined when the tenant does not enable Gradient), as OneRoster names it: 2027 for 2026-27. */
  gradientYear?: number;
}

/** Accounts per `school-manager.importUsers` call: a large district's go in a few parts, each well within the command's bounds. */
const ACCOUNTS_PER_IMPORT = 50_000;

/**
 * Puts in the products what a real deployment already holds before its first sync, for a tenant
 * that enables them, through the products' own commands as an operator would run them: School
 * Manager's accounts (`school-manager.importUsers`, from a CSV of nine in ten of the district's
 * students and staff with an email, so some stay unmatched) and Gradient's academic year, started
 * (`gradient.startAcademicYear`: until then its runs are skipped) — by default the tenant's current
 * school year. Used by the demo, the four-product benchmark and the products' conformance tests.
 */
export async function seedProductState(host: Host, tenantId: string, district: RosterRecordSource, schoolYear?: number): Promise<SeededProductState> {
  const enabled = new Set(
    host.tenants
      .config(tenantId)
      .targets.filter((t) => t.enabled)
      .map((t) => t.id),
  );
  const seeded: SeededProductState = {};
  if (enabled.has('school-manager')) {
    const rows: string[] = [];
    let index = 0;
    for (const u of district.records('users')) {
      if (!u.email || u.role === 'guardian' || u.role === 'parent') continue;
      if (index++ % 10 !== 9) rows.push([`sm-${u.sourcedId}`, u.email, `${u.givenName} ${u.familyName}`].map(csvField).join(','));
    }
    let imported = 0;
    let rejected = 0;
    for (let i = 0; i < rows.length; i += ACCOUNTS_PER_IMPORT) {
      const csv = `id,email,display_name\n${rows.slice(i, i + ACCOUNTS_PER_IMPORT).join('\n')}\n`;
      const { result } = await host.commands.run(tenantId, 'school-manager.importUsers', { csv }, { by: 'seed' });
      imported += Number(result.created) + Number(result.updated) + Number(result.unchanged);
      rejected += result.rejectedCount ?? 0;
    }
    seeded.schoolManagerUsers = imported;
    seeded.schoolManagerRejected = rejected;
  }
  if (enabled.has('gradient')) {
    const { result } = await host.commands.run(tenantId, 'gradient.startAcademicYear', schoolYear === undefined ? {} : { year: schoolYear }, { by: 'seed' });
    seeded.gradientYear = Number(result.schoolYear);
  }
  return seeded;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
