// The web server (admin UI, HTTP API, metrics) and its certificate. webaddress and webport
// are bootstrap keys (bootstrap.ts); the API's access keys are in api.ts.
import { enforced, key } from '../spec.ts';

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
];
