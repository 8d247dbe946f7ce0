import { type Disposable, toDisposable } from '../base/lifecycle';
import { RosterbridgeError } from '../errors/rosterbridge-error';
import type { PluginManifest } from '../plugin/manifest';
import type { RosterTarget } from './roster-target';

/** The implementations registered for contributed targets, by contribution id. */
export class TargetRegistry {
  private readonly targets = new Map<string, { pluginId: string; target: RosterTarget }>();

  /** Registers `target` for `contributionId` on behalf of the plugin with this manifest. */
  register(manifest: PluginManifest, contributionId: string, target: RosterTarget): Disposable {
    if (!manifest.contributes.targets.some((t) => t.id === contributionId))
      throw new RosterbridgeError('MANIFEST_INVALID', `plugin "${manifest.id}" registers target "${contributionId}" but its manifest does not contribute it`, { plugin: manifest.id });
    const existing = this.targets.get(contributionId);
    if (existing) throw new RosterbridgeError('MANIFEST_INVALID', `target "${contributionId}" is already registered by plugin "${existing.pluginId}"`);
    this.targets.set(contributionId, { pluginId: manifest.id, target });
    return toDisposable(() => {
      if (this.targets.get(contributionId)?.target === target) this.targets.delete(contributionId);
    });
  }

  /** The target registered for this id, or undefined. */
  get(contributionId: string): RosterTarget | undefined {
    return this.targets.get(contributionId)?.target;
  }
}
