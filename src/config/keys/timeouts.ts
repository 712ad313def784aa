// Call timeouts (the reference lists them without key names; the names are ours).
import { DAY, enforced, key, notEnforced } from '../spec.ts';

export const TIMEOUT_KEYS = [
  // ── Session timeouts: the reference lists these ("absolute timeout, call timeout, media
  //    timeout, ring timeout, call init timeout") without key names; the names are ours. ──
  key({
    name: 'absolutetimeout',
    status: enforced('src/sip/proxy/calls.ts', 'tests/sip/proxy.test.ts'),
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 4 * 3600,
    min: 60,
    max: 7 * DAY,
    unit: 'seconds',
    help: 'longest allowed call; the call is torn down after this',
  }),
  key({
    name: 'ringtimeout',
    status: enforced('src/sip/proxy/invite.ts', 'tests/sip/proxy.test.ts'),
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 120,
    min: 5,
    max: 3600,
    unit: 'seconds',
    help: 'an unanswered call is cancelled after ringing this long',
  }),
  key({
    name: 'callinittimeout',
    status: enforced('src/sip/proxy/invite.ts', 'tests/sip/proxy.test.ts'),
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 32,
    min: 1,
    max: 600,
    unit: 'seconds',
    help: 'a call with no provisional response is abandoned after this (32 s = Timer B, 64*T1, RFC 3261 17.1.1.2)',
  }),
  key({
    name: 'mediatimeout',
    status: notEnforced(11),
    origin: 'tollgate',
    section: 'session',
    type: 'duration',
    default: 60,
    min: 0,
    max: 3600,
    unit: 'seconds',
    help: 'an answered call with no media in either direction for this long is torn down; 0 = never',
  }),
];
