import 'reflect-metadata';
import t from 'tap';
import { ServiceScope, inject, injectable, serviceId, serviceIdName } from '@rosterbridge/core';

interface Clock {
  now(): number;
}
const IClock = serviceId<Clock>('test.clock');
const IGreeter = serviceId<Greeter>('test.greeter');

@injectable()
class Greeter {
  constructor(@inject(IClock) private readonly clock: Clock) {}
  greet(): string {
    return `it is ${this.clock.now()}`;
  }
}

t.test('typed ids resolve through root → plugin → tenant scopes', async (t) => {
  const root = ServiceScope.createRoot();
  root.register(IClock, { useValue: { now: () => 1 } });
  const plugin = root.createChild('plugin:x');
  const tenant = plugin.createChild('tenant:lincoln');
  plugin.register(IGreeter, { useClass: Greeter });
  t.equal(tenant.get(IGreeter).greet(), 'it is 1', 'explicit @inject tokens, no decorator metadata');
  tenant.register(IClock, { useValue: { now: () => 2 } });
  t.equal(tenant.get(IClock).now(), 2, 'a tenant registration shadows the root one');
  t.equal(plugin.get(IClock).now(), 1, 'without leaking upward');
  t.notOk(root.has(IGreeter), 'plugin registrations stay in the plugin scope');
  t.throws(() => root.get(IGreeter), /service test.greeter is not registered in scope root/);
  t.equal(serviceIdName(IGreeter), 'test.greeter');
  t.equal(serviceId<Clock>('test.clock'), IClock, 'the same name is the same id');
  t.throws(() => serviceId('NoOwner'), /<owner>.<name>/);
  await root.dispose();
});

t.test('disposing a scope disposes instances it made', async (t) => {
  const root = ServiceScope.createRoot();
  const disposed: string[] = [];
  const IRes = serviceId<{ dispose(): void }>('test.resource');
  const child = root.createChild('plugin:y');
  child.register(IRes, { useFactory: () => ({ dispose: () => void disposed.push('resource') }) });
  child.get(IRes);
  await root.dispose();
  t.same(disposed, ['resource']);
  t.throws(() => root.createChild('late'), /disposed/);
});
