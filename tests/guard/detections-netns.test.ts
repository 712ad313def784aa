// Nothing dropped silently (issue 16 §6), end to end: the real daemon in its own namespace,
// a LAN host (10.x, trusted by trustlanip, on by default) sends OPTIONS with a scanner's
// User-Agent. The daemon refuses it and bans nobody, and the operator finds the detection
// with `tollgatectl detections`: the address, the rule, "not banned: trusted by trustlanip",
// how often, and the evidence.
import test from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { eventually } from '../helpers/guarded-link.ts';
import { createLink } from '../helpers/netns.ts';
import { sendUdp } from '../helpers/packets.ts';
import { tempDir } from '../helpers/tmp.ts';

const SIP_PORT = 5060;

interface Detection {
  ip: string;
  rule: string;
  outcome: string;
  count: number;
  firstAt: number;
  lastAt: number;
  evidence: { reason: string; userAgent?: string; last: { method?: string } };
}

function options(target: string, from: string, n: number): string {
  return [
    `OPTIONS sip:100@${target} SIP/2.0`,
    `Via: SIP/2.0/UDP ${from}:5070;branch=z9hG4bK-scan-${n};rport`,
    'Max-Forwards: 70',
    `From: "sipvicious"<sip:100@${from}>;tag=scan${n}`,
    `To: "sipvicious"<sip:100@${target}>`,
    `Call-ID: scan-${n}@${from}`,
    'CSeq: 1 OPTIONS',
    'User-Agent: friendly-scanner',
    'Accept: application/sdp',
    // sendUdp appends " <i>" to the payload: that is the body.
    'Content-Length: 2',
    '',
    '',
  ].join('\r\n');
}

test('a scanner User-Agent from a trusted LAN address is refused, recorded and listed', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: link.b.v4,
    sipport: SIP_PORT,
    sipsport: SIP_PORT + 1,
    dataplanemode: 'off',
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const scanner = link.a.v4;

  const detections = async (): Promise<Detection[]> => {
    const r = await d.ctl('detections', '--json');
    t.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Detection[];
  };
  t.deepEqual(await detections(), [], 'nothing recorded before the scan');

  for (let n = 0; n < 3; n++)
    await sendUdp(link.a.ns, {
      from: scanner,
      to: link.b.v4,
      port: SIP_PORT,
      payload: options(link.b.v4, scanner, n),
    });
  let rows: Detection[] = [];
  const recorded = await eventually(async () => {
    rows = await detections();
    return rows.some((r) => r.ip === scanner && r.count >= 3);
  });
  t.true(recorded, `the detection is listed: ${JSON.stringify(rows)}`);
  const row = rows.find((r) => r.ip === scanner)!;
  t.is(row.rule, 'blockua');
  t.is(row.outcome, 'not banned: trusted by trustlanip');
  t.is(row.evidence.userAgent, 'friendly-scanner');
  t.is(row.evidence.last.method, 'OPTIONS');
  t.regex(row.evidence.reason, /friendly-scanner/);
  t.true(row.lastAt >= row.firstAt);

  // Trusted: refused, not banned.
  const bans = await d.ctl('bans', '--json');
  t.deepEqual(JSON.parse(bans.stdout), []);
  // The text form an operator reads.
  const text = await d.ctl('detections');
  t.is(text.code, 0);
  t.regex(text.stdout, /ADDRESS\s+RULE\s+OUTCOME/);
  t.regex(
    text.stdout,
    new RegExp(`${scanner.replaceAll('.', '\\.')}\\s+blockua\\s+not banned: trusted by trustlanip`),
  );
  t.regex(d.log(), /attack detected, not banned: trusted by trustlanip/);
  t.is(await d.stop(), 0);
});
