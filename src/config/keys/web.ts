// The web server (admin UI, HTTP API, metrics) and its certificate. webaddress and webport
// are bootstrap keys (bootstrap.ts); the API's access keys are in api.ts.
import { enforced, key } from '../spec.ts';

const ACME_MODULE = 'src/webui/acme/manager.ts';
const ACME_TEST = 'tests/webui/acme.test.ts';

export const WEB_KEYS = [
  // ── Web server ────────────────────────────────────────────────────────────────────────
  key({
    name: 'webratelimit',
    status: enforced('src/webui/server.ts', 'tests/webui/server.test.ts'),
    origin: 'tollgate',
    section: 'web',
    type: 'int',
    default: 600,
    min: 0,
    max: 1_000_000,
    unit: 'requests/minute',
    help: 'HTTP requests per minute one address may make to the web UI and API (the login has its own limit of 20); 0 = no limit',
  }),
  // ── ACME (RFC 8555): a real certificate for HTTPS and SIP over TLS ────────────────────
  key({
    name: 'acmedirectory',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'string',
    default: '',
    help: 'ACME directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory); empty = no ACME, tollgate keeps its own certificate',
  }),
  key({
    name: 'acmedomains',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'list',
    format: 'hostname',
    default: [],
    help: 'host names the ACME certificate names (the first is its subject); ACME runs only when this and acmedirectory are set',
  }),
  key({
    name: 'acmeemail',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'string',
    default: '',
    help: 'contact address given to the ACME server with the account (expiry warnings); empty = none',
  }),
  key({
    name: 'acmechallenge',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'enum',
    default: 'http-01',
    values: {
      'http-01': 'the ACME server fetches a token over HTTP on acmehttpport (RFC 8555 §8.3)',
      'tls-alpn-01':
        'the ACME server connects with TLS ALPN "acme-tls/1" to acmetlsport (RFC 8737)',
    },
    help: 'how tollgate proves it owns acmedomains',
  }),
  key({
    name: 'acmerenewdays',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'int',
    default: 30,
    min: 1,
    max: 3650,
    unit: 'days',
    help: 'the ACME certificate is renewed this many days before it expires (at most twice a day)',
  }),
  key({
    name: 'acmehttpport',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'int',
    default: 80,
    min: 1,
    max: 65_535,
    help: 'TCP port answering HTTP-01 challenges, open only while one is pending (the ACME server connects to 80)',
  }),
  key({
    name: 'acmetlsport',
    status: enforced(ACME_MODULE, ACME_TEST),
    origin: 'tollgate',
    live: false,
    section: 'web',
    type: 'int',
    default: 443,
    min: 1,
    max: 65_535,
    help: 'TCP port answering TLS-ALPN-01 challenges, open only while one is pending (the ACME server connects to 443)',
  }),
];
