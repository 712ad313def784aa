// Calls between real phones through tollgate, for every caller/callee combination of UDP,
// TCP and TLS: the caller dials, the callee answers, each side holds and resumes, and the
// call is hung up by the caller (first call) and by the callee (second call). tollgate's
// debug trace (one line per request and response, with peer and transport) shows every
// request of each dialog on its phone's own transport, every request answered, and
// tollgate logs each call's end. baresip and Linphone take turns as the caller.
import test, { type ExecutionContext } from 'ava';
import {
  createStar,
  type Phone,
  startBaresip,
  startLinphonec,
  startTollgate,
  type Tollgate,
  type Transport,
} from '../helpers/softphones.ts';

type Line = Record<string, unknown>;

/** tollgate's trace lines about one Call-ID. */
function dialogLines(tollgate: Tollgate, callId: string): Line[] {
  return tollgate.lines().filter((l) => l.callId === callId && typeof l.dir === 'string');
}

/** How many 200s to INVITEs tollgate has sent to `to` in `callId` (initial, holds, resumes). */
function invite200sTo(tollgate: Tollgate, callId: string, to: Phone): number {
  return dialogLines(tollgate, callId).filter(
    (l) =>
      l.dir === 'out' && l.ip === to.ip && l.status === 200 && String(l.cseq).endsWith(' INVITE'),
  ).length;
}

/**
 * Waits until tollgate has sent `count` 200s to INVITEs to `to`, and has passed the ACK of
 * the last one on to the other phone: the offer/answer exchange is over on both sides, so
 * the next hold or resume is not a request glaring with this one (RFC 3261 §14.1).
 */
async function waitInvite200s(
  tollgate: Tollgate,
  callId: string,
  to: Phone,
  other: Phone,
  count: number,
) {
  await tollgate.waitForLine(
    () => invite200sTo(tollgate, callId, to) >= count,
    `${count} 200 OK to INVITEs sent to the ${to.kind} (${to.transport}) in ${callId}`,
  );
  const last = dialogLines(tollgate, callId)
    .filter(
      (l) =>
        l.dir === 'out' && l.ip === to.ip && l.status === 200 && String(l.cseq).endsWith(' INVITE'),
    )
    .at(-1)!;
  const number = String(last.cseq).split(' ')[0];
  await tollgate.waitForLine(
    (l) =>
      l.callId === callId && l.dir === 'out' && l.ip === other.ip && l.cseq === `${number} ACK`,
    `the ACK of INVITE ${number} passed on to the ${other.kind}`,
  );
}

/** One call: dial, answer, hold and resume from each side, hang up from `hangsUp`. */
async function call(
  t: ExecutionContext,
  tollgate: Tollgate,
  caller: Phone,
  callee: Phone,
  hangsUp: 'caller' | 'callee',
): Promise<string> {
  const seen = tollgate.lines().length;
  const callerMark = caller.mark();
  const calleeMark = callee.mark();
  caller.dial(callee);
  await callee.answer(calleeMark);
  await callee.established(calleeMark);
  await caller.established(callerMark);
  const invite = await tollgate.waitForLine(
    (l) => l.msg === 'SIP INVITE received' && l.ip === caller.ip,
    'the INVITE from the caller',
    seen,
  );
  const callId = String(invite.callId);
  await waitInvite200s(tollgate, callId, caller, callee, 1);

  // Hold and resume from the caller (re-INVITEs the callee answers), then from the callee.
  caller.hold();
  await waitInvite200s(tollgate, callId, caller, callee, 2);
  caller.resume();
  await waitInvite200s(tollgate, callId, caller, callee, 3);
  callee.hold();
  await waitInvite200s(tollgate, callId, callee, caller, 1);
  callee.resume();
  await waitInvite200s(tollgate, callId, callee, caller, 2);

  const ending = hangsUp === 'caller' ? caller : callee;
  const other = hangsUp === 'caller' ? callee : caller;
  const endMark = other.mark();
  ending.hangup();
  await other.ended(endMark);
  await tollgate.waitForLine(
    (l) => l.msg === 'call ended' && l.callId === callId,
    `the end of call ${callId}`,
  );
  checkTransports(t, tollgate, callId, caller, callee);
  return callId;
}

/**
 * Every request and response of the dialog crossed between tollgate and each phone on that
 * phone's transport, and every request a phone sent in it (ACK aside) was answered.
 */
function checkTransports(
  t: ExecutionContext,
  tollgate: Tollgate,
  callId: string,
  caller: Phone,
  callee: Phone,
): void {
  const lines = dialogLines(tollgate, callId);
  for (const phone of [caller, callee]) {
    const mine = lines.filter((l) => l.ip === phone.ip);
    const wrong = mine.filter((l) => l.transport !== phone.transport);
    t.deepEqual(
      wrong.map((l) => `${l.dir} ${l.msg} over ${l.transport}`),
      [],
      `${phone.kind}'s signalling stays on ${phone.transport}`,
    );
    const requests = mine.filter((l) => l.dir === 'in' && typeof l.method === 'string');
    for (const req of requests) {
      if (req.method === 'ACK') continue;
      const answered = mine.some(
        (l) =>
          l.dir === 'out' &&
          l.status !== undefined &&
          Number(l.status) >= 200 &&
          l.cseq === req.cseq,
      );
      t.true(answered, `${phone.kind}'s ${req.method} (${req.cseq}) was answered`);
    }
  }
  // The in-dialog requests each side sent reached the other: re-INVITEs, ACKs and the BYE.
  const methodsFrom = (p: Phone) =>
    new Set(lines.filter((l) => l.dir === 'in' && l.ip === p.ip).map((l) => String(l.method)));
  const methodsTo = (p: Phone) =>
    new Set(lines.filter((l) => l.dir === 'out' && l.ip === p.ip).map((l) => String(l.method)));
  for (const [from, to] of [
    [caller, callee],
    [callee, caller],
  ] as const) {
    for (const method of methodsFrom(from)) {
      if (method === 'undefined') continue;
      t.true(methodsTo(to).has(method), `${from.kind}'s ${method} reached the ${to.kind}`);
    }
  }
}

const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];
let combination = 0;
for (const callerTransport of TRANSPORTS) {
  for (const calleeTransport of TRANSPORTS) {
    const baresipCalls = combination++ % 2 === 0;
    const callerKind = baresipCalls ? 'baresip' : 'Linphone';
    const calleeKind = baresipCalls ? 'Linphone' : 'baresip';
    test.serial(
      `${callerKind} (${callerTransport}) calls ${calleeKind} (${calleeTransport}): answer, hold and resume both ways, hang up from each side`,
      async (t) => {
        const star = await createStar(t, 2);
        const tollgate = await startTollgate(t, star, {}, ['1001', '1002']);
        const start = baresipCalls
          ? [startBaresip, startLinphonec]
          : [startLinphonec, startBaresip];
        const caller = await start[0]!(t, {
          star,
          phone: 0,
          tollgate,
          user: '1001',
          transport: callerTransport,
        });
        const callee = await start[1]!(t, {
          star,
          phone: 1,
          tollgate,
          user: '1002',
          transport: calleeTransport,
        });
        await caller.registered();
        await callee.registered();
        const first = await call(t, tollgate, caller, callee, 'caller');
        const second = await call(t, tollgate, caller, callee, 'callee');
        t.not(first, second);
        // The phones' own traces agree: every request each sent (REGISTER, INVITE and
        // re-INVITEs, ACK, BYE) went to tollgate over its own transport.
        for (const phone of [caller, callee]) {
          const sent = phone.sentRequests();
          const methods = new Set(sent.map((r) => r.method));
          for (const m of ['REGISTER', 'INVITE', 'ACK', 'BYE']) {
            t.true(methods.has(m), `${phone.kind}'s trace shows the ${m} it sent`);
          }
          t.deepEqual(
            sent.filter((r) => r.transport !== phone.transport.toUpperCase()),
            [],
            `${phone.kind} sent every request over ${phone.transport}`,
          );
        }
      },
    );
  }
}
