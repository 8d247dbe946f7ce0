import type { Host } from '@rosterbridge/host';
import type { RosterRecordSource } from './generator';

/** What {@link seedProductState} put in the products. */
export interface SeededProductState {
  /** School Manager users created (undefined when the tenant does not enable School Manager). */
  schoolManagerUsers?: number;
  /** The Gradient academic year started (undefined when the tenant does not enable Gradient). */
  gradientYear?: string;
}

/**
 * Puts in the products what a real deployment already holds before its first sync, for a tenant
 * that enables them: School Manager's own users (nine in ten of the district's students and staff
 * with an email, so some stay unmatched) and Gradient's academic year, started (until then its
 * runs are skipped). Used by the demo and the four-product benchmark.
 */
export async function seedProductState(host: Host, tenantId: string, district: RosterRecordSource, schoolYear = '2027'): Promise<SeededProductState> {
  const enabled = new Set(host.tenants.config(tenantId).targets.filter((t) => t.enabled).map((t) => t.id));
  const seeded: SeededProductState = {};
  if (enabled.has('school-manager')) {
    await host.plugins.activate('target-school-manager', 'onTarget:school-manager');
    const users = [...district.records('users')].filter((u) => u.email && u.role !== 'guardian' && u.role !== 'parent');
    const rows = users.filter((_, i) => i % 10 !== 9).map((u) => ({ tenant_id: tenantId, id: `sm-${u.sourcedId}`, email: u.email!, display_name: `${u.givenName} ${u.familyName}` }));
    const db = host.database.db.withSchema('plugin_target_school_manager');
    for (let i = 0; i < rows.length; i += 5000) await db.insertInto('user_account').values(rows.slice(i, i + 5000)).onConflict((oc) => oc.doNothing()).execute();
    seeded.schoolManagerUsers = rows.length;
  }
  if (enabled.has('gradient')) {
    await host.plugins.activate('target-gradient', 'onTarget:gradient');
    await host.plugins.getApi<{ startAcademicYear(tenant: string, year: string, by?: string): Promise<void> }>('target-gradient').startAcademicYear(tenantId, schoolYear, 'seed');
    seeded.gradientYear = schoolYear;
  }
  return seeded;
}
