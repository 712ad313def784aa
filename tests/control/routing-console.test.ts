// `tollgatectl trunks` and `tollgatectl routes` through the real CLI against a running daemon:
// exit codes (0 ok, 1 refused or not found, 2 a line that cannot be read), errors that name
// the bad argument, --json, and nothing stored lost or half-written by a bad command.
import test from 'ava';
import { startDaemon } from '../helpers/daemon.ts';

type Row = [args: string[], exit: 0 | 1 | 2, stderr?: RegExp];

// In order: later rows rely on what earlier ones did.
const TABLE: Row[] = [
  [['trunks', 'list'], 0],
  [['trunks', 'add', 'carrier-a', '--host', '203.0.113.10'], 0],
  [['trunks', 'add', 'carrier-a', '--host', '203.0.113.11'], 1, /trunk carrier-a already exists/],
  [['trunks', 'add', 'carrier-b', '--host', 'sip.example.com'], 2, /--host must be an IP address/],
  [
    ['trunks', 'add', 'carrier-b', '--host', '203.0.113.20', '--port', '99999'],
    2,
    /--port must be a whole number from 1 to 65535/,
  ],
  [
    ['trunks', 'add', 'carrier-b', '--host', '203.0.113.20', '--transport', 'sctp'],
    2,
    /--transport must be udp, tcp or tls/,
  ],
  [
    ['trunks', 'add', 'carrier-b', '--host', '203.0.113.20', '--inbound-ip', '203.0.113.0/33'],
    2,
    /--inbound-ip: "203\.0\.113\.0\/33"/,
  ],
  [
    ['trunks', 'add', 'carrier-b', '--host', '203.0.113.20', '--techprefix', '12'],
    2,
    /--techprefix applies to inbound calls/,
  ],
  [['trunks', 'add', 'carrier-b'], 2, /--host IP is required/],
  [['trunks', 'add', 'bad name!', '--host', '203.0.113.20'], 2, /NAME "bad name!"/],
  [
    [
      'trunks',
      'add',
      'carrier-b',
      '--host',
      '2001:db8::20',
      '--transport',
      'tls',
      '--inbound-ip',
      '2001:db8::/64,203.0.113.0/28',
      '--techprefix',
      '77',
      '--timeout',
      '3',
    ],
    0,
  ],
  [['trunks', 'list', '--host', '1.2.3.4'], 2, /options go with "trunks add"/],
  [['trunks'], 2],
  [['routes', 'add', '0044', '--trunk', 'carrier-a'], 0],
  [
    [
      'routes',
      'add',
      '0044',
      '--trunk',
      'carrier-b',
      '--priority',
      '2',
      '--weight',
      '5',
      '--strip',
      '2',
      '--prepend',
      '+',
    ],
    0,
  ],
  [
    ['routes', 'add', '0044', '--trunk', 'carrier-a'],
    1,
    /a route for prefix "0044" to trunk carrier-a already exists/,
  ],
  [['routes', 'add', '0049', '--trunk', 'nobody'], 1, /no trunk nobody/],
  [['routes', 'add', '00x', '--trunk', 'carrier-a'], 2, /PREFIX must be digits/],
  [['routes', 'add', '0049'], 2, /--trunk NAME is required/],
  [
    ['routes', 'add', '0049', '--trunk', 'carrier-a', '--priority', 'high'],
    2,
    /--priority must be a whole number/,
  ],
  [['routes', 'add', 'any', '--trunk', 'carrier-a', '--priority', '9'], 0],
  [
    ['trunks', 'del', 'carrier-a'],
    1,
    /trunk carrier-a is used by the routes "any", "0044": delete them first/,
  ],
  [['routes', 'del', '0049'], 1, /no route for prefix "0049"/],
  [['routes', 'del', '0044', '--trunk', 'carrier-a'], 0],
  [['routes', 'del', 'any'], 0],
  [['trunks', 'del', 'carrier-a'], 0],
  [['trunks', 'del', 'carrier-a'], 1, /no trunk carrier-a/],
];

test('trunks and routes: add, list, del through tollgatectl; exit codes; bad commands store nothing', async (t) => {
  t.timeout(120_000);
  const d = await startDaemon(t);
  for (const [args, exit, stderr] of TABLE) {
    const r = await d.ctl(...args);
    t.is(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    if (stderr) t.regex(r.stderr, stderr, args.join(' '));
  }
  const trunks = JSON.parse((await d.ctl('trunks', 'list', '--json')).stdout) as Array<
    Record<string, unknown>
  >;
  t.is(trunks.length, 1, 'only the trunks added by good commands');
  t.like(trunks[0], {
    name: 'carrier-b',
    host: '2001:db8::20',
    port: 5061,
    transport: 'tls',
    inboundIps: ['2001:db8::/64', '203.0.113.0/28'],
    techprefix: '77',
    timeoutSeconds: 3,
  });
  const routes = JSON.parse((await d.ctl('routes', 'list', '--json')).stdout);
  t.like(routes, [
    { prefix: '0044', trunk: 'carrier-b', priority: 2, weight: 5, strip: 2, prepend: '+' },
  ]);
  const text = await d.ctl('routes', 'list');
  t.regex(text.stdout, /PREFIX\s+TRUNK\s+PRIORITY/);
  t.regex(text.stdout, /0044\s+carrier-b\s+2/);
  // Stored in LMDB: a restart keeps them.
  t.is(await d.stop(), 0);
  const again = await startDaemon(t, { dataDir: d.dataDir, configFile: d.configFile });
  t.regex((await again.ctl('trunks', 'list')).stdout, /carrier-b\s+tls \[2001:db8::20\]:5061/);
});
