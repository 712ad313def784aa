// The XDP guard's policy (GuardConfig, operator units) checked and turned into the bytes of
// struct tg_config (layout.ts mirrors bpf/tollgate.h). Pure: xdp-guard.ts writes the result
// into the config map in one update, so the program never sees half a policy.
import { DataplaneErrors as E } from './errors.ts';
import { encodeConfig, MAX_SIG_PORTS } from './layout.ts';
import type { GuardConfig } from './types.ts';

export const DEFAULT_GUARD_CONFIG: Readonly<GuardConfig> = Object.freeze({
  signalingPorts: [5060, 5061],
  mediaPorts: null,
  checkRtpAddr: false,
  dropFragments: false,
  sourceRatePps: 0,
  sourceBurst: 0,
  maxNetworkSpeedKbps: 0,
  floodEventIntervalMs: 1000,
});

export function portOk(p: unknown): p is number {
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;
}

/** Merges `changes` into `current` and validates the result; throws a coded error naming the bad knob. */
export function mergeGuardConfig(current: GuardConfig, changes: Partial<GuardConfig>): GuardConfig {
  const next: GuardConfig = { ...current, ...changes };
  if (next.signalingPorts.length > MAX_SIG_PORTS || !next.signalingPorts.every(portOk))
    throw new E.TG_DP_BAD_PORT(
      'signaling ports',
      JSON.stringify(next.signalingPorts),
      `1..65535, at most ${MAX_SIG_PORTS}`,
    );
  if (next.mediaPorts !== null) {
    const { min, max } = next.mediaPorts;
    if (!portOk(min) || !portOk(max) || min > max)
      throw new E.TG_DP_BAD_PORT('media range', `${min}-${max}`, '1..65535 with min <= max');
  }
  const nonNegative = [
    'sourceRatePps',
    'sourceBurst',
    'maxNetworkSpeedKbps',
    'floodEventIntervalMs',
  ] as const;
  for (const key of nonNegative) {
    const v = next[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new E.TG_DP_BAD_CONFIG(key, `${v} is not an integer in 0..4294967295`);
  }
  if (next.sourceRatePps > 1_000_000_000)
    throw new E.TG_DP_BAD_CONFIG('sourceRatePps', 'at most 1e9 packets/s');
  return next;
}

/** struct tg_config for a validated GuardConfig. */
export function guardConfigBytes(config: GuardConfig): Uint8Array {
  const bytesPerSec = (BigInt(config.maxNetworkSpeedKbps) * 1000n) / 8n;
  return encodeConfig({
    signalingPorts: config.signalingPorts,
    mediaPortMin: config.mediaPorts?.min ?? 0,
    mediaPortMax: config.mediaPorts?.max ?? 0,
    dropFragments: config.dropFragments,
    checkRtp: config.checkRtpAddr,
    sourceRatePps: config.sourceRatePps,
    sourceBurst: config.sourceBurst,
    globalRateBytesPerSec: bytesPerSec,
    // A tenth of a second of line rate: absorbs bursts without hiding a sustained flood.
    globalBurstBytes: bytesPerSec / 10n,
    eventIntervalNs: BigInt(config.floodEventIntervalMs) * 1_000_000n,
  });
}
