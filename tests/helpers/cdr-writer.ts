// Child process for the CDR crash test: a prepaid account with credit 100000 makes calls as
// fast as it can, 50 at a time (authorize, then end each after 1..120 s of talk at
// 0.60/min per second). After each batch of CDRs is on disk it prints
// "acked <CDRs acknowledged so far>", so the test kills it (-9) mid-stream by counting acks.
import { Settings } from '../../src/config/settings.ts';
import { BillingService } from '../../src/control/billing/service.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import { Store } from '../../src/store/store.ts';

const dir = process.argv[2]!;
const log = createLogger({ level: 'silent' });
const store = Store.open(dir);
const settings = new Settings(store, { absolutetimeout: 600 }, log);
const users = new UserService(store, settings, log);
const billing = new BillingService({ store, settings, accounts: users, log });
users.useCredit(billing);
if (!users.exists('crash')) {
  users.add('crash', 'Correct-Horse-Battery-9');
  users.set('crash', 'maxlines', '1000');
  users.set('crash', 'credit', '100000');
  billing.tariffs.importCsv('tariff,prefix,price,increments\ndefault,,0.60,1/1\n');
}
process.stdout.write('ready\n');
billing.ledger.onAcknowledged = () =>
  process.stdout.write(`acked ${billing.ledger.acknowledged}\n`);
let n = 0;
const start = Date.now();
for (;;) {
  const calls = [];
  for (let i = 0; i < 50; i++) {
    const at = start + n * 10;
    const req = {
      callId: `crash-${process.pid}-${n++}`,
      source: { transport: 'udp' as const, ip: '192.0.2.9', port: 5060 },
      account: 'crash',
      accountKind: 'user' as const,
      callerId: 'crash',
      dialled: '4930123',
      destination: 'trunk' as const,
      trunk: 'carrier',
      at,
    };
    calls.push({ req, allowed: billing.calls.authorize(req).allow });
  }
  for (const { req, allowed } of calls) {
    const seconds = allowed ? 1 + (n % 120) : 0;
    billing.calls.ended({
      ...req,
      startedAt: req.at,
      answeredAt: allowed ? req.at : undefined,
      endedAt: req.at + seconds * 1000,
      durationSeconds: seconds,
      disconnectSide: 'caller',
      reason: allowed ? 'BYE' : 'refused',
      status: allowed ? 200 : 402,
    });
  }
  await billing.ledger.flush();
}
