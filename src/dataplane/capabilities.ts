// Whether this process may run the kernel dataplane: not "is it root" but "does it hold the
// capabilities", so the service can run as its own unprivileged user with ambient
// capabilities (systemd/tollgate.service) and still attach XDP and load nftables.
//   CAP_NET_ADMIN (12): attach XDP, change nftables (the `nft` child inherits it as ambient).
//   CAP_BPF (39): load the program, create its maps (Linux >= 5.8; before, CAP_SYS_ADMIN).
// Read from /proc/self/status (CapEff, a hex mask; proc(5)).
import { readFileSync } from 'node:fs';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;
export const CAP_BPF = 39;

/** The effective capability mask from the text of /proc/PID/status; null if absent. */
export function effectiveCapabilities(status: string): bigint | null {
  const m = /^CapEff:\s*([0-9a-fA-F]{1,16})\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : null;
}

function has(mask: bigint, cap: number): boolean {
  return (mask & (1n << BigInt(cap))) !== 0n;
}

/** What is missing for the kernel dataplane, or null when nothing is. */
export function missingDataplaneCapabilities(status: string = readStatus()): string | null {
  const mask = effectiveCapabilities(status);
  if (mask === null) return "cannot read this process's capabilities (/proc/self/status)";
  const missing = [];
  if (!has(mask, CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (!has(mask, CAP_BPF) && !has(mask, CAP_SYS_ADMIN)) missing.push('CAP_BPF');
  return missing.length === 0 ? null : missing.join(' and ');
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}
