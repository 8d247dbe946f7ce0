import { type Disposable, toDisposable } from '../base/lifecycle';
import { RosterbridgeError } from '../errors/rosterbridge-error';
import type { PluginManifest } from '../plugin/manifest';
import type { RosterSource } from './roster-source';

/**
 * The implementations registered for contributed sources. A plugin may only register a source its
 * manifest declares; the host asks for one by contribution id after activating `onSource:<id>`.
 */
export class SourceRegistry {
  private readonly sources = new Map<string, { pluginId: string; source: RosterSource }>();

  /** Registers `source` for `contributionId` on behalf of the plugin with this manifest. */
  register(manifest: PluginManifest, contributionId: string, source: RosterSource): Disposable {
    if (!manifest.contributes.sources.some((s) => s.id === contributionId))
      throw new RosterbridgeError('MANIFEST_INVALID', `plugin "${manifest.id}" registers source "${contributionId}" but its manifest does not contribute it`, {
        plugin: manifest.id,
      });
    const existing = this.sources.get(contributionId);
    if (existing) throw new RosterbridgeError('MANIFEST_INVALID', `source "${contributionId}" is already registered by plugin "${existing.pluginId}"`);
    this.sources.set(contributionId, { pluginId: manifest.id, source });
    return toDisposable(() => {
      if (this.sources.get(contributionId)?.source === source) this.sources.delete(contributionId);
    });
  }

  /** The source registered for this id, or undefined. */
  get(contributionId: string): RosterSource | undefined {
    return this.sources.get(contributionId)?.source;
  }
}
