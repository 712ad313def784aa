// The guard's public surface. Wiring in the daemon (sketch):
//
//   const guard = new Guard({
//     settings, log,
//     ban: (ip, ttl, reason, evidence) =>
//       bans.ban(ip, { ttlSeconds: ttl, reason, origin: 'auto', evidence: { ...evidence } }),
//   });
//   guard.adoptBans(bans.list());                      // userspace copy of stored bans
//   transports.on('message', (msg, src) => {
//     const d = guard.observe({ kind: 'message', ip: src.ip, port: src.port, ... });
//     if (d.action !== 'pass') return;                 // drop, ban, close-session
//   });
//   console `delbanned,IP|all` → bans.unban(target) and guard.forget(target)
//   console `stress-test`      → for (const [k, v] of Object.entries(stressTestProfile())) settings.set(k, v)
export {
  derivedAuthRequestLimit,
  GUARD_KEYS,
  type GuardSettings,
  missingSessionKeys,
  SESSION_DEFAULTS,
  stressTestProfile,
} from './config.ts';
export { WindowedCounters } from './counters.ts';
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
