// OPTIONS and MESSAGE from one real phone reach the other through tollgate, each leg on its
// phone's own transport (tollgate's debug trace names the peer and transport of every
// request and response it receives and sends).
import test from 'ava';
import {
  createStar,
  type Phone,
  startBaresip,
  startLinphonec,
  startTollgate,
  type Tollgate,
  type Transport,
} from '../helpers/softphones.ts';

/** Waits for tollgate to send `method` (or its `status`) to `to`, on `to`'s transport. */
function sentTo(
  tollgate: Tollgate,
  to: Phone,
  what: { method?: string; status?: number; cseq: string },
) {
  return tollgate.waitForLine(
    (l) =>
      l.dir === 'out' &&
      l.ip === to.ip &&
      String(l.cseq).endsWith(what.cseq) &&
      (what.method ? l.method === what.method : l.status === what.status),
    `${what.method ?? what.status} (${what.cseq}) sent to ${to.kind}`,
  );
}

for (const [bt, lt] of [
  ['udp', 'tls'],
  ['tls', 'tcp'],
] as const satisfies ReadonlyArray<readonly [Transport, Transport]>) {
  test.serial(`OPTIONS and MESSAGE between baresip (${bt}) and Linphone (${lt})`, async (t) => {
    const star = await createStar(t, 2);
    const tollgate = await startTollgate(t, star, {}, ['1001', '1002']);
    const baresip = await startBaresip(t, {
      star,
      phone: 0,
      tollgate,
      user: '1001',
      transport: bt,
      peers: ['1002'],
    });
    const linphone = await startLinphonec(t, {
      star,
      phone: 1,
      tollgate,
      user: '1002',
      transport: lt,
    });
    await baresip.registered();
    await linphone.registered();

    // OPTIONS baresip → Linphone: forwarded to Linphone, its 200 back to baresip.
    await baresip.options(linphone);
    const options = await sentTo(tollgate, linphone, { method: 'OPTIONS', cseq: 'OPTIONS' });
    t.is(options.transport, lt);
    const optionsOk = await sentTo(tollgate, baresip, { status: 200, cseq: 'OPTIONS' });
    t.is(optionsOk.transport, bt);
    t.regex(linphone.trace(), /OPTIONS sip:1002@/, 'Linphone received the OPTIONS');

    // MESSAGE each way, with the text arriving at the other phone.
    baresip.message(linphone, 'hello-from-baresip');
    await linphone.received('hello-from-baresip');
    t.is((await sentTo(tollgate, linphone, { method: 'MESSAGE', cseq: 'MESSAGE' })).transport, lt);
    t.is((await sentTo(tollgate, baresip, { status: 200, cseq: 'MESSAGE' })).transport, bt);

    const mark = baresip.mark();
    linphone.message(baresip, 'hello-from-linphone');
    await baresip.received('hello-from-linphone', mark);
    const toBaresip = await tollgate.waitForLine(
      (l) => l.dir === 'out' && l.ip === baresip.ip && l.method === 'MESSAGE',
      'MESSAGE sent to baresip',
    );
    t.is(toBaresip.transport, bt);
    t.is((await sentTo(tollgate, linphone, { status: 200, cseq: 'MESSAGE' })).transport, lt);
  });
}
