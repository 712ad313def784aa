// The configuration the security audit passes: what the reference's checklist asks for,
// wherever tollgate enforces the key (tests/control/audit.test.ts, tests/config/config-console.test.ts).
/** What the reference's checklist asks for, where tollgate enforces the key. */
export const HARDENED: Record<string, string> = {
  minpwdlength: '12',
  fwdtootherdomains: '0',
  enforcestrongauth: 'true',
  strongdigestauth: '2',
  allowcalleridchange: '0',
  useshadigestauh: '1',
  stricttransport: '2',
  blockotherdomains: 'true',
  blockscanning_treshold: '10',
  trustlanip: 'false',
  allownoauthcalls: '0',
  allowanonymouscaller: 'false',
  enablefirewall: '4',
  autoban: '2',
  apidefneedlogin: '3',
  allownoauthfork: '3',
  blockearlymedia: '1',
  licensecfg: 'maxcalls=500,maxusers=10000',
  apideftrustadmin: '4',
  sipport: '5080',
  sipsport: '5081',
  // A certificate from a public CA (the audit reads only that one is configured).
  tlscertfile: '/etc/tollgate/cert.pem',
  tlskeyfile: '/etc/tollgate/key.pem',
};
