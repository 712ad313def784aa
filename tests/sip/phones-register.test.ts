// Real softphones (Debian's baresip 1.0 and Linphone 5.1) register with tollgate over UDP,
// TCP and TLS, with TLS verified against tollgate's CA, and with useshadigestauh=1 each
// uses the strongest digest it can: Linphone SHA-256, baresip (MD5 only) MD5.
import test from 'ava';
import {
  createStar,
  PHONE_DEADLINE_MS,
  startBaresip,
  startLinphonec,
  startTollgate,
  type Transport,
} from '../helpers/softphones.ts';

test.serial(
  'useshadigestauh=1: both phones register over TLS; Linphone uses SHA-256, baresip (MD5 only) MD5, and audit lists it',
  async (t) => {
    const star = await createStar(t, 2);
    const tollgate = await startTollgate(t, star, { useshadigestauh: 1 }, ['1001', '1002']);
    const baresip = await startBaresip(t, {
      star,
      phone: 0,
      tollgate,
      user: '1001',
      transport: 'tls',
    });
    const linphone = await startLinphonec(t, {
      star,
      phone: 1,
      tollgate,
      user: '1002',
      transport: 'tls',
    });
    await baresip.registered();
    await linphone.registered();

    // What each phone was offered and answered, from its own trace.
    t.regex(
      linphone.trace(),
      /WWW-Authenticate: Digest [^\n]*algorithm=SHA-256[^\n]*\n\s*WWW-Authenticate: [^\n]*algorithm=SHA-512-256[^\n]*\n\s*WWW-Authenticate: [^\n]*algorithm=MD5/,
      'Linphone is offered SHA-256 first',
    );
    t.regex(linphone.trace(), /Authorization: +Digest [^\n]*algorithm=SHA-256/);
    t.regex(baresip.trace(), /WWW-Authenticate: Digest [^\n]*algorithm=MD5/);
    t.notRegex(baresip.trace(), /algorithm=SHA/, 'baresip 1.0 is offered MD5 alone');

    // What tollgate recorded per account (users show), and what audit will list.
    const shown = async (user: string) => {
      const r = await tollgate.daemon.ctl('users', 'show', user, '--json');
      return JSON.parse(r.stdout) as { digest?: { algorithm: string } };
    };
    t.is((await shown('1002')).digest?.algorithm, 'SHA-256');
    t.is((await shown('1001')).digest?.algorithm, 'MD5');
  },
);

for (const transport of ['udp', 'tcp', 'tls'] as const satisfies readonly Transport[]) {
  test.serial(`both phones register over ${transport.toUpperCase()}`, async (t) => {
    const star = await createStar(t, 2);
    const tollgate = await startTollgate(t, star, {}, ['1001', '1002']);
    const baresip = await startBaresip(t, { star, phone: 0, tollgate, user: '1001', transport });
    const linphone = await startLinphonec(t, { star, phone: 1, tollgate, user: '1002', transport });
    await baresip.registered();
    await linphone.registered();
    // tollgate saw each REGISTER on the phone's transport, from the phone's address.
    for (const phone of [baresip, linphone]) {
      const line = await tollgate.waitForLine(
        (l) => l.msg === 'SIP 200 sent' && l.ip === phone.ip && /REGISTER/.test(String(l.cseq)),
        `the 200 to ${phone.kind}'s REGISTER`,
      );
      t.is(line.transport, transport, `${phone.kind} registered over ${transport}`);
    }
  });
}

test.serial(
  'Linphone verifies the certificate: with a CA that is not tollgate’s it refuses to register',
  async (t) => {
    const star = await createStar(t, 1);
    const tollgate = await startTollgate(t, star, {}, ['1002']);
    const other = await startTollgate(t, await createStar(t, 1), {}, []);
    // The same phone, given another tollgate's CA: the handshake must fail.
    const linphone = await startLinphonec(t, {
      star,
      phone: 0,
      tollgate: { ...tollgate, caPath: other.caPath },
      user: '1002',
      transport: 'tls',
    });
    await linphone.waitFor(/./, 'output');
    const deadline = Date.now() + PHONE_DEADLINE_MS;
    while (!/Certificate verification failed/.test(linphone.trace())) {
      if (Date.now() > deadline) t.fail(`no verification failure in the trace`);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.notRegex(linphone.trace(), /LinphoneRegistrationOk/);
  },
);
