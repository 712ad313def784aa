// Chooses and prepares the kernel dataplane the daemon runs with (config `dataplanemode`):
//   xdp / xdp-generic  XDP guard on the protected interfaces, with nftables as the second
//                      layer (the same bans, plus per-source TCP connection limits)
//   nft                nftables alone (no XDP: old kernel, no libbpf)
//   off                nothing in the kernel (not root; development)
// `auto` tries them in that order and says why it settled where it did.
//
// Two steps, so that a start that fails leaves the kernel as it found it:
//   prepareDataplane()  everything that can fail without touching what others see: the
//                       namespace's dataplane lock (a live owner refuses the start, naming
//                       its pid and data directory), libbpf and the BPF object loaded (held
//                       by our fds only), nft answering. Policy calls made from here on are
//                       recorded (XDP maps are already ours to write).
//   engage()            the daemon calls it last, once every socket is bound: tables,
//                       programs on interfaces, the recorded policy, the reconcile loop.

import type { Logger } from '../log.ts';
import { missingDataplaneCapabilities } from './capabilities.ts';
import { compilePattern } from './interface-plan.ts';
import { KernelDataplane } from './kernel-dataplane.ts';
import { NftDataplane } from './nft.ts';
import { OffDataplane } from './off.ts';
import { NamespaceLock } from './owner.ts';
import type { AttachMode, Dataplane, DataplaneMode, GuardConfig } from './types.ts';
import { XdpGuard } from './xdp-guard.ts';
import { XdpRecord } from './xdp-record.ts';

export interface DataplaneSetup {
  mode: 'auto' | DataplaneMode;
  /** Interface names or patterns to protect; empty = derived from the SIP listen address. */
  interfaces: readonly string[];
  /** Interface names or patterns never to protect. */
  exclude: readonly string[];
  sipAddress: string;
  sipTcpPorts: readonly number[];
  maxConnPerSource: number;
  guard: Partial<GuardConfig>;
  /** Named in the owner record (a refused second daemon names it). */
  dataDir: string;
  /** How often the kernel state is compared with what it should be (default 2000 ms). */
  reconcileMs?: number;
  log: Logger;
}

export interface PreparedDataplane {
  dataplane: Dataplane;
  /** Why this mode: shown by `tollgatectl status`. */
  reason: string;
  /** Touches the kernel (tables, programs, recorded policy); a no-op in mode off. */
  engage(): Promise<void>;
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

export async function prepareDataplane(setup: DataplaneSetup): Promise<PreparedDataplane> {
  const { log } = setup;
  if (setup.mode === 'off') return off('dataplanemode is off');
  const missing = missingDataplaneCapabilities();
  if (missing !== null)
    return off(
      `the kernel dataplane needs CAP_BPF and CAP_NET_ADMIN; this process lacks ${missing}`,
    );

  for (const pattern of [...setup.interfaces, ...setup.exclude]) compilePattern(pattern);
  // Refuses (throws TG_DP_OWNED) while another daemon owns this namespace's dataplane.
  const lock = await NamespaceLock.acquire({ pid: process.pid, dataDir: setup.dataDir });
  try {
    const nft = new NftDataplane();
    try {
      await nft.check(); // nft runs and can read the ruleset; changes nothing
    } catch (err) {
      await lock.release();
      return off(`nftables unavailable: ${(err as Error).message}`);
    }
    const loopbackOnly = isLoopback(setup.sipAddress) && setup.interfaces.length === 0;
    const wantXdp = setup.mode === 'auto' || setup.mode === 'xdp' || setup.mode === 'xdp-generic';
    let guard: XdpGuard | null = null;
    let why = '';
    const record = XdpRecord.open(setup.dataDir);
    if (wantXdp && loopbackOnly) {
      why = `${setup.sipAddress} is loopback only, so there is nothing to attach XDP to`;
    } else if (wantXdp) {
      try {
        guard = XdpGuard.load({ logger: log, record });
        guard.configure(setup.guard);
      } catch (err) {
        guard?.close();
        guard = null;
        why = `XDP unavailable: ${(err as Error).message}`;
        if (setup.mode !== 'auto')
          log.warn({ err }, 'XDP could not be used; falling back to nftables');
      }
    }
    const attachMode: AttachMode =
      setup.mode === 'xdp' ? 'native' : setup.mode === 'xdp-generic' ? 'generic' : 'auto';
    const reason =
      guard !== null
        ? `XDP (${setup.mode === 'auto' ? 'native, else generic' : attachMode}) on every protected interface, nftables as second layer`
        : why
          ? `nftables only (${why})`
          : 'nftables only (dataplanemode is nft)';
    const dataplane = new KernelDataplane({
      lock,
      guard,
      record,
      attachMode,
      nft,
      nftInit: { sipTcpPorts: setup.sipTcpPorts, maxConnPerSource: setup.maxConnPerSource },
      nftGuard: loopbackOnly ? 'inet' : 'netdev',
      selection: {
        sipAddress: setup.sipAddress,
        include: setup.interfaces,
        exclude: setup.exclude,
      },
      reconcileMs: setup.reconcileMs ?? 2000,
      reason,
      log,
    });
    // Mode nft: the media range gate is the part of the guard policy nftables holds.
    if (guard === null) await dataplane.applyGuardPolicy(setup.guard);
    return { dataplane, reason, engage: () => dataplane.start() };
  } catch (err) {
    await lock.release();
    throw err;
  }

  function off(reason: string): PreparedDataplane {
    log.warn({ reason }, 'no kernel dataplane: bans are enforced nowhere but in the store');
    return { dataplane: new OffDataplane(reason), reason, engage: async () => {} };
  }
}
