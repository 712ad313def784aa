// IP trust and spoofing.
import { enforced, fixed, key } from '../spec.ts';

export const TRUST_KEYS = [
  // ── IP trust and spoofing ─────────────────────────────────────────────────────────────
  key({
    name: 'allowtrustedip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'trust',
    type: 'enum',
    default: 3,
    values: {
      '0': 'no',
      '1': 'my ip only',
      '2': 'private ips only',
      '3': 'yes',
      '4': 'everywhere including admin console',
    },
    help: 'where IP-based trust is honoured (vulnerable to IP spoofing without ingress filtering)',
  }),
  key({
    name: 'trustlanip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'trust',
    type: 'bool',
    default: true,
    help: 'treat private (LAN) source addresses as trusted; disable when not needed',
  }),
  key({
    name: 'trustsubnet',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'extend trust of a trusted address to its whole subnet (reference: false by default)',
  }),
  key({
    name: 'trustauthip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'trust an address once a user has authenticated from it (reference: false by default)',
  }),
  key({
    name: 'treatusersasknownip',
    status: enforced('src/control/guard/config.ts', 'tests/control/guard/policy.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'treat addresses of registered users as known IPs (reference: false by default)',
  }),
  key({
    name: 'reuseep',
    status: enforced('src/sip/proxy/admission.ts', 'tests/sip/routing.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'identify the caller by the registration at its source address when the request names no known user (reference gives no default and recommends 0)',
  }),
  key({
    name: 'reuseepauth',
    status: enforced('src/sip/proxy/admission.ts', 'tests/sip/routing.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'accept requests from a registered ip:port without a new digest challenge (spoofable over UDP; reference recommends 0)',
  }),
  key({
    name: 'reusedifferentportreg',
    status: enforced('src/sip/proxy/admission.ts', 'tests/sip/routing.test.ts'),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'as reuseepauth, also when only the IP matches a registration (reference recommends 0)',
  }),
  key({
    name: 'reuseupperregep',
    status: fixed(
      'tollgate accounts have no parent and sub-accounts: a request reaches only the registrations of the account it names',
    ),
    section: 'trust',
    type: 'bool',
    default: false,
    help: 'let sub-accounts reuse the registration of their parent account; tollgate has no sub-accounts, so only false is accepted (reference recommends 0)',
  }),
];
