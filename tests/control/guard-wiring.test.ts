import { Writable } from 'node:stream';
import test from 'ava';
import { BanService } from '../../src/control/bans.ts';
import { createGuard, reporter } from '../../src/control/guard-wiring.ts';
import { Settings } from '../../src/control/settings.ts';
import { Store } from '../../src/control/store/store.ts';
import { UserService } from '../../src/control/users.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import { tempDir } from '../helpers/tmp.ts';

test('maxcallperuserid limits the calls of the account with that id only', (t) => {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const users = new UserService(store, new Settings(store, {}, log), log);
  users.add('alice', 'Wonder-land-42');
  users.add('bob', 'Build-it-77x');
  const bobId = users.get('bob').id;
  t.is(bobId, users.get('alice').id + 1, 'ids are handed out in order');

  const settings = new Settings(
    store,
    { maxcallperip: 1, maxcallperuserid: bobId, trustlanip: false },
    log,
  );
  const bans = new BanService(store, new OffDataplane('test'), log);
  const { guard } = createGuard(settings, bans, log);
  t.teardown(() => guard.close());
  const report = reporter(guard, log, (name) => users.idOf(name));
  const call = (user: string, ip: string) =>
    report({
      kind: 'call-start',
      ip,
      port: 5060,
      method: 'INVITE',
      user,
      callId: `${user}-${Math.random()}`,
    });

  // alice is not the account maxcallperuserid names: her calls are not limited.
  for (let i = 0; i < 3; i++) t.is(call('alice', '198.51.100.1').action, 'pass');
  // bob's second call from one address goes over maxcallperip.
  t.is(call('bob', '198.51.100.2').action, 'pass');
  t.not(call('bob', '198.51.100.2').action, 'pass');
});

test('the schema migration gives accounts of an older store their ids, in creation order', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  store.durable(() => {
    store.tables.users.put('zed', { name: 'zed', fields: {}, secrets: {}, createdAt: 5 } as never);
    store.tables.users.put('amy', { name: 'amy', fields: {}, secrets: {}, createdAt: 9 } as never);
    store.tables.meta.put('schemaVersion', 1);
    store.tables.meta.remove('nextUserId');
  });
  await store.close();
  const again = Store.open(dir);
  t.teardown(() => again.close());
  t.is(again.schemaVersion, 2);
  t.is(again.tables.users.get('zed')!.id, 1);
  t.is(again.tables.users.get('amy')!.id, 2);
  t.is(again.tables.meta.get('nextUserId'), 3);
});
