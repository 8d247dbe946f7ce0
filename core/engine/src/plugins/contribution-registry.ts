import {
  type CommandHandler,
  type PluginManifest,
  type RosterSource,
  type RosterTarget,
  type SyncDisposable,
  RosterbridgeError,
  toDisposable,
} from '@rosterbridge/core';

/**
 * The implementations plugins register for the sources, targets or commands their manifests
 * contribute, by contribution id. A plugin may only register what its manifest declares, and an id
 * only once.
 */
export class ContributionRegistry<T> {
  private readonly entries = new Map<string, { pluginId: string; implementation: T }>();

  constructor(private readonly kind: 'sources' | 'targets' | 'commands') {}

  /** Registers `implementation` for `contributionId` on behalf of the plugin with this manifest. */
  register(manifest: PluginManifest, contributionId: string, implementation: T): SyncDisposable {
    const noun = { sources: 'source', targets: 'target', commands: 'command' }[this.kind];
    if (!manifest.contributes[this.kind].some((c) => c.id === contributionId))
      throw new RosterbridgeError('MANIFEST_INVALID', `plugin "${manifest.id}" registers ${noun} "${contributionId}" but its manifest does not contribute it`, {
        plugin: manifest.id,
      });
    const existing = this.entries.get(contributionId);
    if (existing) throw new RosterbridgeError('MANIFEST_INVALID', `${noun} "${contributionId}" is already registered by plugin "${existing.pluginId}"`);
    this.entries.set(contributionId, { pluginId: manifest.id, implementation });
    return toDisposable(() => {
      if (this.entries.get(contributionId)?.implementation === implementation) this.entries.delete(contributionId);
    });
  }

  /** The implementation registered for this id, or undefined. */
  get(contributionId: string): T | undefined {
    return this.entries.get(contributionId)?.implementation;
  }
}

/** Registered sources; the host asks for one by id after activating `onSource:<id>`. */
export class SourceRegistry extends ContributionRegistry<RosterSource> {
  constructor() {
    super('sources');
  }
}

/** Registered targets; the host asks for one by id after activating `onTarget:<id>`. */
export class TargetRegistry extends ContributionRegistry<RosterTarget> {
  constructor() {
    super('targets');
  }
}

/**
 * Registered command handlers; the host finds one by command id after activating its plugin on
 * `onCommand:<id>`. Each handler states its own argument type: the host has validated the
 * arguments against the schema the same plugin declared, hence `any` here.
 */
export class CommandRegistry extends ContributionRegistry<CommandHandler<any>> {
  constructor() {
    super('commands');
  }
}
