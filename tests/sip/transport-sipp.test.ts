// Interop with a real client: SIPp sends OPTIONS over UDP and TCP to a tiny responder built on
// SipTransports, and must get its 200s (its own retransmission and matching logic decide).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { SipResponse } from '../../src/sip/message/index.ts';
import { SipTransports, type Source } from '../../src/sip/transport/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);

const OPTIONS_SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options ping">
  <send retrans="500">
    <![CDATA[
      OPTIONS sip:ping@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:ping@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Content-Length: [len]

    ]]>
  </send>
  <recv response="200" />
</scenario>
`;

for (const transport of ['udp', 'tcp'] as const) {
  test(`SIPp: OPTIONS over ${transport.toUpperCase()} to a responder on SipTransports all succeed`, async (t) => {
    const tr = await SipTransports.start({ [transport]: [{ ip: '127.0.0.1', port: 0 }] });
    t.teardown(() => tr.close());
    const sources: Source[] = [];
    const rejects: string[] = [];
    tr.on('reject', (ev) => rejects.push(`${ev.reason}: ${ev.detail}`));
    tr.on('message', (m, source) => {
      if (m.kind !== 'request' || m.method !== 'OPTIONS') return;
      sources.push(source);
      const res = new SipResponse(200, 'OK', [], Buffer.alloc(0));
      for (const v of m.headerValues('via')) res.addHeader('Via', v);
      res.addHeader('From', m.header('from')!);
      res.addHeader('To', `${m.header('to')!};tag=responder`);
      res.addHeader('Call-ID', m.header('call-id')!);
      res.addHeader('CSeq', m.header('cseq')!);
      tr.respond(res, source).catch((err) => t.log(`respond failed: ${err}`));
    });
    const port = tr.addresses().find((a) => a.transport === transport)!.port;
    const dir = tempDir(t, 'tollgate-sipp-');
    const scenario = join(dir, 'options.xml');
    writeFileSync(scenario, OPTIONS_SCENARIO);
    let exitCode = 0;
    let output = '';
    try {
      const r = await run(
        'sipp',
        [
          `127.0.0.1:${port}`,
          '-sf',
          scenario,
          '-t',
          transport === 'udp' ? 'u1' : 't1',
          '-i',
          '127.0.0.1',
          '-p',
          '0',
          '-m',
          '5',
          '-r',
          '50',
          '-timeout',
          '20s',
          '-timeout_error',
          '-nostdin',
        ],
        { cwd: dir, timeout: 40_000 },
      );
      output = r.stdout + r.stderr;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      exitCode = typeof e.code === 'number' ? e.code : -1;
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    t.is(exitCode, 0, `SIPp reports failed calls:\n${output.slice(-2000)}`);
    t.deepEqual(rejects, []);
    t.true(sources.length >= 5, `${sources.length} OPTIONS seen`);
    // SIPp asked for rport: every request was stamped with its real source.
    t.true(sources.every((s) => s.transport === transport && s.ip === '127.0.0.1' && s.port > 0));
  });
}
