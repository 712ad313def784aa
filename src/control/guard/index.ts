// The guard's public surface. Wiring in the daemon (guard-wiring.ts):
//
//   const guard = new Guard({
//     settings, log,
//     ban: (ip, ttl, reason, evidence) =>
//       bans.ban(ip, { ttlSeconds: ttl, reason, origin: 'auto', evidence: { ...evidence } }),
//   });
//   guard.adoptBans(bans.list());                      // userspace copy of stored bans
//   policy.admit(message) → guard.observe({ kind: 'message', ip, port, ... }).action === 'pass'
//   console `delbanned,IP|all` → bans.unban(target) and guard.forget(target)
//   console `detections`       → guard.detections()
//   console `stress-test`      → for (const [k, v] of Object.entries(stressTestProfile())) settings.set(k, v)
//
// The rules are the table in rules.ts.
export {
  derivedAuthRequestLimit,
  GUARD_KEYS,
  type GuardSettings,
  missingSessionKeys,
  SESSION_DEFAULTS,
  stressTestProfile,
} from './config.ts';
export { WindowedCounters } from './counters.ts';
export type { DetectionRecord } from './detections.ts';
export { GuardErrors } from './errors.ts';
export {
  type BanEvidence,
  type BanSink,
  Guard,
  type GuardAction,
  type GuardDecision,
  type GuardEvent,
  type GuardEventKind,
  type GuardOptions,
  type PerIpUsage,
  type PortBanSink,
} from './guard.ts';
export { redactSample } from './redact.ts';
export { RULES, type Rule } from './rules.ts';
