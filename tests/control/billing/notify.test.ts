// Refusals are logged with their rule and counted; with sendadminemailnotifications 2 an
// account blocked by a spend rule is mailed to adminemail through the SMTP relay — a real
// local SMTP server (smtp-server) here, with a login.
import { createServer } from 'node:net';
import test from 'ava';
import { SMTPServer } from 'smtp-server';
import { call, MONDAY, rig, tariffs } from './helpers.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Received {
  from: string;
  to: string[];
  body: string;
  user: string | undefined;
}

async function smtp(t: import('ava').ExecutionContext) {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'tg' && auth.password === 'relay-secret')
        cb(null, { user: auth.username });
      else cb(new Error('bad login'));
    },
    onData(stream, session, cb) {
      let body = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => {
        body += c;
      });
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          body,
          user: session.user as string | undefined,
        });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const next = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no mail')), 30_000);
      const check = () => {
        if (received.length >= n) {
          clearTimeout(deadline);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { port, received, next };
}

test('sendadminemailnotifications 2: a blocked account is mailed once through the relay; every refusal is counted', async (t) => {
  const relay = await smtp(t);
  const r = rig(t, {
    sendadminemailnotifications: 2,
    adminemail: 'noc@example.net',
    smtpserver: '127.0.0.1',
    smtpport: relay.port,
    smtpsecurity: 'none',
    smtpuser: 'tg',
    smtppassword: 'relay-secret',
    smtpfrom: 'tollgate@pbx.example.net',
    maxdailycreditforenduser: 1,
    checkmaxdyndailycredit: 0,
  });
  tariffs(r, [['default', '', '1', '0', '60/60', '']]);
  r.user('spender', { postpaid: 'true' });
  t.true(call(r, 'spender', '4930', MONDAY, 60).allow);
  for (let i = 0; i < 3; i++) t.false(call(r, 'spender', '4930', MONDAY + 1 + i, 60).allow);
  await relay.next(1);
  await r.billing.notifier.drain();
  t.is(relay.received.length, 1, 'once per account and rule per hour');
  const mail = relay.received[0]!;
  t.deepEqual(mail.to, ['noc@example.net']);
  t.is(mail.from, 'tollgate@pbx.example.net');
  t.is(mail.user, 'tg', 'logged in to the relay');
  t.regex(mail.body, /account spender blocked \(maxdailycreditforenduser\)/);
  t.deepEqual(r.billing.notifier.counts(), { maxdailycreditforenduser: 3 });
  t.is(r.billing.account('spender').lastRefusal?.rule, 'maxdailycreditforenduser');
});

test('sendadminemailnotifications 1 and 0: no mail for a blocked account (1 mails system events only)', async (t) => {
  const relay = await smtp(t);
  const config = {
    adminemail: 'noc@example.net',
    smtpserver: '127.0.0.1',
    smtpport: relay.port,
    smtpsecurity: 'none',
    smtpuser: 'tg',
    smtppassword: 'relay-secret',
    maxdailycreditforenduser: 1,
    checkmaxdyndailycredit: 0,
  };
  const r = rig(t, { ...config, sendadminemailnotifications: 1 });
  tariffs(r, [['default', '', '1', '0', '60/60', '']]);
  r.user('quiet1', { postpaid: 'true' });
  call(r, 'quiet1', '4930', MONDAY, 60);
  t.false(call(r, 'quiet1', '4930', MONDAY + 1, 60).allow);
  r.billing.notifier.systemEvent('test event', 'a system event is mailed at level 1');
  await relay.next(1);
  await r.billing.notifier.drain();
  t.is(relay.received.length, 1);
  t.regex(relay.received[0]!.body, /a system event is mailed at level 1/);
  r.settings.set('sendadminemailnotifications', '0');
  r.billing.notifier.systemEvent('quiet', 'not mailed');
  await r.billing.notifier.drain();
  t.is(relay.received.length, 1);
});

test('a relay that refuses the login: the mail fails, logged, and nothing else breaks', async (t) => {
  const relay = await smtp(t);
  const r = rig(t, {
    sendadminemailnotifications: 2,
    adminemail: 'noc@example.net',
    smtpserver: '127.0.0.1',
    smtpport: relay.port,
    smtpsecurity: 'none',
    smtpuser: 'tg',
    smtppassword: 'wrong-secret',
  });
  t.true(r.billing.notifier.mail({ subject: 's', text: 't' }));
  await r.billing.notifier.drain();
  t.is(r.billing.notifier.failed, 1);
  t.is(relay.received.length, 0);
});
