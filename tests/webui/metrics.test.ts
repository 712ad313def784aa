import test from 'ava';
import { udpQueueStats } from '../../src/sip/transport/udp-thread.ts';
import { ADMIN, ADMIN_PASSWORD, basic, startTestWeb } from './helpers.ts';

const AUTH = { authorization: basic(ADMIN, ADMIN_PASSWORD) };

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics is Prometheus text, protected like the API, with no address or name as a label', async (t) => {
  const w = await startTestWeb(t);
  t.is((await w.call('GET', '/metrics')).status, 401);
  t.is(
    (await w.call('GET', '/metrics', { headers: { authorization: basic(ADMIN, 'wrong-One-1') } }))
      .status,
    401,
  );
  w.ctx.users.add('carol', 'Holly-and-Ivy-19');
  const added = await w.call('POST', '/api/v1/bans', {
    headers: AUTH,
    body: { ip: '198.51.100.9', ttl: 600, reason: 'scanner' },
  });
  t.is(added.status, 201);
  w.metrics.sipMessage('in', 'INVITE', undefined);
  w.metrics.sipMessage('in', 'INVITE', undefined);
  w.metrics.sipMessage('in', 'X-198.51.100.9', undefined);
  w.metrics.sipMessage('out', undefined, 407);
  w.metrics.callRefused('maxcallperip');
  w.metrics.callRefused('carol');

  const m = await w.call('GET', '/metrics', { headers: AUTH });
  t.is(m.status, 200);
  t.regex(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  t.is(sample(m.text, 'tollgate_dropped_packets_total{reason="banned"}'), 0);
  t.is(sample(m.text, 'tollgate_bans_active{origin="manual",rule="manual"}'), 1);
  t.is(sample(m.text, 'tollgate_bans_added_total{origin="manual",rule="manual"}'), 1);
  t.is(sample(m.text, 'tollgate_users'), 1);
  t.is(sample(m.text, 'tollgate_registrations'), 0);
  t.is(sample(m.text, 'tollgate_sip_requests_total{direction="in",method="INVITE"}'), 2);
  t.is(sample(m.text, 'tollgate_sip_requests_total{direction="in",method="other"}'), 1);
  t.is(sample(m.text, 'tollgate_sip_responses_total{direction="out",class="4xx"}'), 1);
  t.is(sample(m.text, 'tollgate_calls_refused_total{rule="maxcallperip"}'), 1);
  t.is(sample(m.text, 'tollgate_spend_today_micros'), 0);
  t.is(sample(m.text, 'tollgate_log_lines_dropped_total'), 0);
  const udp = udpQueueStats();
  for (const [reason, n] of [
    ['queue_full_in', udp.receivedQueueFull],
    ['over_share', udp.receivedOverShare],
    ['queue_full_out', udp.sendQueueFull],
  ] as const)
    t.is(sample(m.text, `tollgate_udp_datagrams_dropped_total{reason="${reason}"}`), n);
  t.true((sample(m.text, 'tollgate_nodejs_eventloop_lag_seconds') ?? -1) >= 0);
  t.false(m.text.includes('198.51.100.9'), 'no address in any label');
  t.false(m.text.includes('carol'), 'no account name in any label');
});
