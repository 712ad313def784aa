// Reading the XDP program's per-CPU counters (the `stats` map) and naming them the way the
// Dataplane interface does. Read-only: nothing here writes to the kernel.
import {
  COUNTER_SLOTS,
  type CounterName,
  DROP_COUNTERS,
  PASS_COUNTERS,
  sumCounters,
} from './layout.ts';
import type { BpfMap } from './libbpf.ts';
import type { DropReason } from './types.ts';

export interface Counter {
  packets: bigint;
  bytes: bigint;
}

/** Every counter slot, summed over CPUs. */
export function readCounters(map: BpfMap): Record<CounterName, Counter> {
  const value = new Uint8Array(map.valueSize);
  const out = {} as Record<CounterName, Counter>;
  for (const [name, slot] of Object.entries(COUNTER_SLOTS) as [CounterName, number][]) {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, slot, true);
    out[name] = map.lookup(key, value)
      ? sumCounters(value, map.perCpuStride)
      : { packets: 0n, bytes: 0n };
  }
  return out;
}

/** Bytes dropped, by the DropReason names (the metrics' bytes per reason). */
export function dropBytesOf(counters: Record<CounterName, Counter>): Record<DropReason, number> {
  const out = {} as Record<DropReason, number>;
  for (const [reason, names] of Object.entries(DROP_COUNTERS) as [
    DropReason,
    readonly CounterName[],
  ][]) {
    out[reason] = names.reduce((sum, n) => sum + Number(counters[n].bytes), 0);
  }
  return out;
}

/** Packets dropped, by the DropReason names of the Dataplane interface. */
export function dropsOf(counters: Record<CounterName, Counter>): Record<DropReason, number> {
  const out = {} as Record<DropReason, number>;
  for (const [reason, names] of Object.entries(DROP_COUNTERS) as [
    DropReason,
    readonly CounterName[],
  ][]) {
    out[reason] = names.reduce((sum, n) => sum + Number(counters[n].packets), 0);
  }
  return out;
}

export function passedOf(counters: Record<CounterName, Counter>): number {
  return PASS_COUNTERS.reduce((sum, n) => sum + Number(counters[n].packets), 0);
}
