import 'reflect-metadata';
import { container as globalContainer, type DependencyContainer, inject, injectable } from 'tsyringe';

/**
 * tsyringe's decorators, re-exported so plugins need no direct dependency: mark a class
 * `@injectable()` and every constructor parameter `@inject(SomeServiceId)` (no decorator metadata
 * is emitted, so the explicit token is what DI reads).
 */
export { inject, injectable };
import { type Disposable } from '../base/lifecycle';

declare const serviceType: unique symbol;

/**
 * A typed DI key: one value is both the tsyringe token and the carrier of the service's type.
 * Service ids are named `<owner>.<name>`.
 *
 * ```ts
 * export interface RunStore { … }
 * export const IRunStore = serviceId<RunStore>('core.runStore');
 * @injectable() class Engine { constructor(@inject(IRunStore) private readonly runs: RunStore) {} }
 * ```
 */
export type ServiceId<T> = symbol & { readonly [serviceType]?: T; readonly description: string };

const ids = new Map<string, symbol>();

/** Creates (or returns the existing) service id with the given name. */
export function serviceId<T>(name: string): ServiceId<T> {
  if (!/^[a-z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+$/.test(name)) {
    throw new TypeError(`service id "${name}" must look like <owner>.<name>`);
  }
  let id = ids.get(name);
  if (!id) {
    id = Symbol.for(`rosterbridge:${name}`);
    ids.set(name, id);
  }
  return id as ServiceId<T>;
}

/** The name a service id was created with. */
export function serviceIdName(id: ServiceId<unknown>): string {
  return (id.description ?? '').replace(/^rosterbridge:/, '');
}

/** `@inject` with a typed service id, for constructor parameters. */
export function injectService<T>(id: ServiceId<T>): ParameterDecorator {
  return inject(id) as ParameterDecorator;
}

/** How a service is provided in a scope. */
export type ServiceProvider<T> = { useValue: T } | { useFactory: (scope: ServiceScope) => T } | { useClass: new (...args: any[]) => T; singleton?: boolean };

/**
 * A DI scope over a tsyringe container: root, a child per plugin, a child per tenant below it.
 * Lookups fall through to parents; registrations stay in the scope that made them. Disposing a scope
 * disposes the instances it created (that are Disposable), last-in first-out.
 */
export class ServiceScope implements Disposable {
  private readonly children = new Set<ServiceScope>();
  /** Disposable values this scope's factories made, in creation order. */
  private readonly made: Disposable[] = [];
  private disposed = false;

  private constructor(
    /** The underlying tsyringe container, for `@inject`-based construction. */
    readonly container: DependencyContainer,
    /** A name for messages: `root`, `plugin:source-x`, `plugin:source-x/tenant:lincoln`. */
    readonly name: string,
    private readonly parent?: ServiceScope,
  ) {}

  /** A new root scope, independent of tsyringe's global container. */
  static createRoot(): ServiceScope {
    return new ServiceScope(globalContainer.createChildContainer(), 'root');
  }

  /** A child scope whose lookups fall back to this one. */
  createChild(name: string): ServiceScope {
    if (this.disposed) throw new Error(`scope ${this.name} is disposed`);
    const child = new ServiceScope(this.container.createChildContainer(), `${this.name}/${name}`, this);
    this.children.add(child);
    return child;
  }

  /** Registers a service in this scope. */
  register<T>(id: ServiceId<T>, provider: ServiceProvider<T>): this {
    if ('useValue' in provider) {
      this.container.register(id, { useValue: provider.useValue });
    } else if ('useFactory' in provider) {
      let made = false;
      let value: T;
      this.container.register(id, {
        useFactory: () => {
          if (!made) {
            value = provider.useFactory(this);
            made = true;
            if (typeof (value as Partial<Disposable> | undefined)?.dispose === 'function') this.made.push(value as Disposable);
          }
          return value;
        },
      });
    } else {
      this.container.register(id, { useClass: provider.useClass }, provider.singleton === false ? undefined : { lifecycle: 1 /* Lifecycle.Singleton */ });
    }
    return this;
  }

  /** Resolves a service, from this scope or its ancestors; throws naming the id when absent. */
  get<T>(id: ServiceId<T>): T {
    if (!this.container.isRegistered(id, true)) {
      throw new Error(`service ${serviceIdName(id)} is not registered in scope ${this.name}`);
    }
    return this.container.resolve<T>(id);
  }

  /** Resolves a service when registered, else undefined. */
  tryGet<T>(id: ServiceId<T>): T | undefined {
    return this.container.isRegistered(id, true) ? this.container.resolve<T>(id) : undefined;
  }

  /** True when the id resolves in this scope or an ancestor. */
  has(id: ServiceId<unknown>): boolean {
    return this.container.isRegistered(id, true);
  }

  /** Constructs a class whose constructor parameters carry explicit `@inject` tokens. */
  instantiate<T>(ctor: new (...args: any[]) => T): T {
    return this.container.resolve(ctor);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const child of [...this.children].reverse()) await child.dispose();
    this.parent?.children.delete(this);
    while (this.made.length > 0) await this.made.pop()!.dispose();
    await this.container.dispose();
  }
}
