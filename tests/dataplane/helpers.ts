// Shared by the dataplane tests: build the BPF object (incremental, like bootstrap does).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BPF_DIR = fileURLToPath(new URL('../../bpf/', import.meta.url));
export const BPF_OBJECT = `${BPF_DIR}tollgate.bpf.o`;

export function buildBpfObject(): string {
  execFileSync('make', ['-s', '-C', BPF_DIR], { stdio: ['ignore', 'inherit', 'inherit'] });
  return BPF_OBJECT;
}

/**
 * A flood-event interval (ms) that a test can move a bucket's last event behind, on any
 * machine: bpf_ktime_get_ns counts from boot, so "the last event was one interval ago" can
 * be written only once the clock has run longer than the interval (on a machine booted two
 * minutes ago, ten minutes ago is before boot). Ten minutes when the clock allows it, else
 * half the time since boot; either way far longer than a test takes between two events.
 */
export function eventIntervalMsBehind(nowNs: bigint): number {
  return Math.min(600_000, Math.floor(Number(nowNs / 1_000_000n) / 2));
}

/** The last-event time that makes the next drop fire a new event with `intervalMs`. */
export function lastEventBefore(nowNs: bigint, intervalMs: number): bigint {
  return nowNs - BigInt(intervalMs) * 1_000_000n - 1n;
}
