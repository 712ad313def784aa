// What the composition root adds around billing: every refusal is counted per rule for
// /metrics, and every other answer passes through unchanged.
import test from 'ava';
import { countingRefusals } from '../src/daemon.ts';
import type { CallAccounting, CallRequest } from '../src/policy-port.ts';

const CALL: CallRequest = {
  callId: 'c1',
  source: { transport: 'udp', ip: '192.0.2.1', port: 5060 },
  account: 'alice',
  accountKind: 'user',
  callerId: 'alice',
  dialled: '4930123',
  destination: 'trunk',
  at: 0,
};

test('billing refusals are counted per rule; allowed calls and the other hooks pass through', (t) => {
  const refused: string[] = [];
  const seen: string[] = [];
  let allow = false;
  const billing: CallAccounting = {
    authorize: () =>
      allow
        ? { allow: true, maxDurationSeconds: 30 }
        : { allow: false, status: 402, reason: 'Payment Required', rule: 'credit' },
    answered: (id) => {
      seen.push(`answered ${id}`);
      return { maxDurationSeconds: 10 };
    },
    ended: (call) => void seen.push(`ended ${call.callId}`),
    trunkUsable: (trunk) => trunk === 'up',
  };
  const wrapped = countingRefusals(billing, (rule) => refused.push(rule));
  t.deepEqual(wrapped.authorize(CALL), {
    allow: false,
    status: 402,
    reason: 'Payment Required',
    rule: 'credit',
  });
  allow = true;
  t.deepEqual(wrapped.authorize(CALL), { allow: true, maxDurationSeconds: 30 });
  t.deepEqual(refused, ['credit'], 'one refusal, counted under its rule');
  t.deepEqual(wrapped.answered('c1', 5), { maxDurationSeconds: 10 });
  wrapped.ended({
    ...CALL,
    startedAt: 0,
    answeredAt: undefined,
    endedAt: 1,
    durationSeconds: 0,
    disconnectSide: 'proxy',
    reason: 'credit',
    status: 402,
  });
  t.deepEqual(seen, ['answered c1', 'ended c1']);
  t.true(wrapped.trunkUsable('up', 0));
  t.false(wrapped.trunkUsable('down', 0));
});
