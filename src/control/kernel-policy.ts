// Turns config keys into the XDP guard's knobs. Userspace keeps the authoritative counters
// (maxsubsmsgcount over maxsubsmsgperiod and the rest); the kernel budget is a coarser,
// cheaper line in front of it that only a flood crosses:
//
//   per-source rate = max(50, 2 × maxsubsmsgcount / maxsubsmsgperiod) packets/s
//   burst           = 2 × rate
//
// With the defaults (39000 per 180 s) that is 434 pps and a burst of 868: a busy PBX trunk
// stays far below it (and registered endpoints and trunks are trusted, so exempt anyway),
// while a flood is cut within a second and reported once so the guard can ban it.
//
// Per-source buckets cannot stop a flood from random sources (each sends a handful of
// packets), so at enablefirewall 4 all sources not yet trusted share one budget:
// min(unknownsourcekbps, maxnetworkspeed). maxnetworkspeed is sized for the NIC (0.8 Gbit/s);
// unknownsourcekbps for what the SIP engine can take, so the flood dies in XDP while
// registered phones and trunks (trusted) are not counted against it.
// enablefirewall below 3 means "no kernel budgets" (see the key's help).

import type { Settings } from '../config/settings.ts';
import type { GuardConfig } from '../dataplane/types.ts';

/** Keys whose live change must be pushed into the kernel. */
export const KERNEL_POLICY_KEYS = [
  'enablefirewall',
  'maxsubsmsgcount',
  'maxsubsmsgperiod',
  'maxnetworkspeed',
  'unknownsourcekbps',
  'checkrtpaddr',
] as const;

/** Every key the kernel guard's policy is computed from (the live ones above, and ports). */
const POLICY_VIEW_KEYS = [
  ...KERNEL_POLICY_KEYS,
  'sipport',
  'sipsport',
  'mediaportmin',
  'mediaportmax',
] as const;

export function guardConfigFrom(settings: Settings): Partial<GuardConfig> {
  const c = settings.view(POLICY_VIEW_KEYS);
  const level = Number(c.enablefirewall);
  const budgets = level >= 3;
  const period = Math.max(1, c.maxsubsmsgperiod);
  const rate = budgets ? Math.max(50, Math.ceil((2 * c.maxsubsmsgcount) / period)) : 0;
  return {
    signalingPorts: [c.sipport, c.sipsport],
    mediaPorts: { min: c.mediaportmin, max: c.mediaportmax },
    // The relay owns the media range: a port without a relay leg (no call, or the call has
    // ended) drops everything. Which sources a leg accepts is the leg's own (checkrtpaddr,
    // set per leg by src/sip/media/relay.ts).
    checkRtpAddr: true,
    sourceRatePps: rate,
    sourceBurst: rate * 2,
    maxNetworkSpeedKbps: level >= 4 ? Math.min(c.unknownsourcekbps, c.maxnetworkspeed) : 0,
    floodEventIntervalMs: 1000,
  };
}
