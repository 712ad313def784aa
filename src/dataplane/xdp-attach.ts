// Where the XDP program runs: attaching it to interfaces, detaching it, and reading back
// what an interface runs now. Ownership, by kernel program id: the program this process
// loaded is ours; a program whose id the data directory's record holds (xdp-record.ts) was
// attached by an earlier daemon of this directory during this boot, the predecessor. The
// caller holds the namespace's dataplane lock (owner.ts) before attaching, so that
// predecessor is dead and its program stale: it is taken over (replaced by ours, and its
// maps, which no one could reach any more, go with it). Any other program is foreign and
// never touched, whatever its name: without CAP_SYS_ADMIN (the shipped unit) a name cannot
// even be read, and a name proves nothing anyway. Detach removes only our own program.
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.ts';
import { DataplaneErrors as E } from './errors.ts';
import { PROG_NAME } from './layout.ts';
import {
  closeFd,
  errorText,
  progById,
  progIdOfFd,
  XDP_FLAGS,
  xdpAttach,
  xdpDetach,
  xdpQueryId,
} from './libbpf.ts';
import type { AttachedMode, AttachMode } from './types.ts';
import type { XdpRecord } from './xdp-record.ts';

export function ifindexOf(ifname: string): number {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname)) throw new E.TG_DP_NO_INTERFACE(ifname);
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
  } catch {
    throw new E.TG_DP_NO_INTERFACE(ifname);
  }
}

/**
 * Detaches a crashed predecessor's program (an id in `record`, other than `ownId`) from
 * ifname: used where this daemon will not put its own program (an interface no longer
 * protected, or mode nft), since left there it would go on dropping with the dead daemon's
 * maps, which no unban reaches. Anything else there stays. Returns the id removed, or 0.
 */
export function releasePredecessor(ifname: string, record: XdpRecord, ownId = 0): number {
  const ifindex = ifindexOf(ifname);
  for (const [flags] of MODES) {
    const id = xdpQueryId(ifindex, flags);
    if (id === 0 || id === ownId || !record.has(id)) continue;
    const rc = xdpDetach(ifindex, flags);
    if (rc < 0) throw new E.TG_DP_DETACH(ifname, errorText(rc));
    return id;
  }
  return 0;
}

/** What an interface runs now, read from the kernel. */
export interface XdpProbe {
  ifindex: number;
  /** Mode of the program found (native wins if both are set); null = none. */
  mode: AttachedMode | null;
  progId: number;
  progName: string;
  ours: boolean;
}

const MODES: [number, AttachedMode][] = [
  [XDP_FLAGS.DRV_MODE, 'xdp'],
  [XDP_FLAGS.SKB_MODE, 'xdp-generic'],
];

/** A program found on an interface that is ours or our predecessor's, by mode flag. */
interface Held {
  id: number;
  /** An fd for it when the kernel gives one (CAP_SYS_ADMIN): the swap is then exact. */
  fd: number | null;
}

export class XdpAttachments {
  readonly #progFd: number;
  readonly #ownId: number;
  readonly #logger: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly #record: XdpRecord | undefined;
  #recorded = false;
  readonly #attached = new Map<string, { ifindex: number; mode: AttachedMode }>();

  /** `record`: the data directory's (xdp-record.ts); without one nothing is ever taken over. */
  constructor(progFd: number, logger?: Pick<Logger, 'info' | 'warn'>, record?: XdpRecord) {
    this.#progFd = progFd;
    this.#ownId = progIdOfFd(progFd);
    this.#logger = logger;
    this.#record = record;
  }

  /** The kernel id of our program: what `ip link` shows as `prog/xdp id N`. */
  get programId(): number {
    return this.#ownId;
  }

  /** Reads what ifname runs now (throws TG_DP_NO_INTERFACE if it is gone). */
  probe(ifname: string): XdpProbe {
    const ifindex = ifindexOf(ifname);
    for (const [flags, mode] of MODES) {
      const id = xdpQueryId(ifindex, flags);
      if (id === 0) continue;
      if (id === this.#ownId) return { ifindex, mode, progId: id, progName: PROG_NAME, ours: true };
      return { ifindex, mode, progId: id, progName: this.#nameOf(id), ours: false };
    }
    return { ifindex, mode: null, progId: 0, progName: '', ours: false };
  }

  /**
   * Attaches to ifname. 'auto' tries native (driver) XDP and falls back to generic (skb)
   * with a logged reason. Our program already there: nothing to do. The predecessor's is
   * replaced in one step; a foreign one makes the attach fail (TG_DP_FOREIGN_PROGRAM) before
   * anything is tried, so a refusal is not retried into the kernel at every reconcile pass.
   */
  attach(ifname: string, mode: AttachMode = 'auto'): AttachedMode {
    const ifindex = ifindexOf(ifname);
    const held = this.#ownOrPredecessor(ifname, ifindex);
    try {
      for (const [flags, h] of held) {
        const name: AttachedMode = flags === XDP_FLAGS.DRV_MODE ? 'xdp' : 'xdp-generic';
        const satisfies = mode === 'auto' || (mode === 'native') === (flags === XDP_FLAGS.DRV_MODE);
        if (h.id === this.#ownId && satisfies) {
          this.#attached.set(ifname, { ifindex, mode: name });
          return name;
        }
      }
      this.#recordOwn();
      const tries: [number, AttachedMode][] =
        mode === 'generic'
          ? [[XDP_FLAGS.SKB_MODE, 'xdp-generic']]
          : mode === 'native'
            ? [[XDP_FLAGS.DRV_MODE, 'xdp']]
            : [
                [XDP_FLAGS.DRV_MODE, 'xdp'],
                [XDP_FLAGS.SKB_MODE, 'xdp-generic'],
              ];
      let lastError = '';
      for (const [flags, name] of tries) {
        const other = flags === XDP_FLAGS.DRV_MODE ? XDP_FLAGS.SKB_MODE : XDP_FLAGS.DRV_MODE;
        // Native and generic cannot be active together: clear ours or the predecessor's in
        // the other mode (a foreign one there already made #ownOrPredecessor throw).
        if (held.has(other)) {
          xdpDetach(ifindex, other);
          held.delete(other);
        }
        const old = held.get(flags);
        // With an fd for the old program the kernel swaps only that exact program
        // (XDP_FLAGS_REPLACE). Without one (no CAP_SYS_ADMIN: the shipped unit) the attach
        // replaces whatever runs there, which we read a moment ago as the predecessor's: only
        // someone forcing their own program over a dead tollgate's within that moment could
        // lose it, and its owner would see it replaced by ours, named tollgate.
        const rc =
          old === undefined
            ? xdpAttach(ifindex, this.#progFd, flags | XDP_FLAGS.UPDATE_IF_NOEXIST)
            : old.fd === null
              ? xdpAttach(ifindex, this.#progFd, flags)
              : xdpAttach(ifindex, this.#progFd, flags, old.fd);
        if (rc === 0) {
          if (old !== undefined) {
            this.#logger?.warn(
              { ifname, previousId: old.id, mode: name },
              'took over the XDP program of a previous tollgate (it died without detaching)',
            );
            held.delete(flags);
          }
          this.#attached.set(ifname, { ifindex, mode: name });
          this.#logger?.info({ ifname, mode: name }, 'XDP guard attached');
          return name;
        }
        lastError = `${name}: ${errorText(rc)}`;
        if (tries.length > 1 && name === 'xdp')
          this.#logger?.warn(
            { ifname, reason: errorText(rc) },
            'native XDP refused; falling back to generic XDP',
          );
      }
      throw new E.TG_DP_ATTACH(ifname, lastError);
    } finally {
      for (const h of held.values()) if (h.fd !== null) closeFd(h.fd);
    }
  }

  /** Detaches from ifname if our program runs there; forgets it either way. */
  detach(ifname: string): void {
    const a = this.#attached.get(ifname);
    if (!a) return;
    this.#attached.delete(ifname);
    let ifindex: number;
    try {
      ifindex = ifindexOf(ifname);
    } catch {
      return; // the interface is gone, and the program with it
    }
    if (ifindex !== a.ifindex) return; // a new interface under the old name: not ours
    for (const [flags] of MODES) {
      // Only remove our own program: if someone replaced it meanwhile, leave theirs.
      if (xdpQueryId(ifindex, flags) !== this.#ownId) continue;
      const rc = xdpDetach(ifindex, flags);
      if (rc < 0) throw new E.TG_DP_DETACH(ifname, errorText(rc));
    }
  }

  /** Forgets ifname without touching the kernel (it was removed, or our program was). */
  forget(ifname: string): void {
    this.#attached.delete(ifname);
  }

  interfaces(): { ifname: string; mode: AttachedMode }[] {
    return [...this.#attached].map(([ifname, a]) => ({ ifname, mode: a.mode }));
  }

  /**
   * Detaches from every interface; throws the first error after trying all. When all went,
   * our id leaves the record: nothing of ours is left for a successor to take over.
   */
  detachAll(): void {
    const errors: unknown[] = [];
    for (const ifname of [...this.#attached.keys()]) {
      try {
        this.detach(ifname);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
    try {
      this.#record?.remove(this.#ownId);
    } catch (err) {
      this.#logger?.warn({ err, record: this.#record?.path }, 'could not update the XDP record');
    }
  }

  /**
   * Our id goes into the record before the program is attached anywhere, so a daemon that
   * dies right after attaching still leaves it to its successor. A record that cannot be
   * written costs only that takeover: it is logged, and the attach goes on.
   */
  #recordOwn(): void {
    if (this.#recorded || this.#record === undefined) return;
    try {
      this.#record.add(this.#ownId);
      this.#recorded = true;
    } catch (err) {
      this.#logger?.warn(
        { err, record: this.#record.path },
        'could not record the XDP program id; a restart after a crash will not take it over',
      );
    }
  }

  /** The program's name, when the kernel lets us read it (CAP_SYS_ADMIN). */
  #nameOf(id: number): string {
    const prog = progById(id);
    if (prog !== null) {
      closeFd(prog.fd);
      return prog.name;
    }
    if (this.#record?.has(id)) return `${PROG_NAME} (a previous tollgate's)`;
    return '';
  }

  /**
   * Our program and the predecessor's on ifindex, by mode flag; throws TG_DP_FOREIGN_PROGRAM
   * (naming the program as far as it can be read) if any other program is there.
   */
  #ownOrPredecessor(ifname: string, ifindex: number): Map<number, Held> {
    const found = new Map<number, Held>();
    try {
      for (const [flags] of MODES) {
        const id = xdpQueryId(ifindex, flags);
        if (id === 0) continue;
        if (id === this.#ownId) {
          found.set(flags, { id, fd: null });
          continue;
        }
        if (this.#record?.has(id)) {
          found.set(flags, { id, fd: progById(id)?.fd ?? null });
          continue;
        }
        const name = this.#nameOf(id);
        throw new E.TG_DP_FOREIGN_PROGRAM(
          ifname,
          name === ''
            ? `id ${id} (its name cannot be read without CAP_SYS_ADMIN)`
            : `"${name}" (id ${id})`,
        );
      }
    } catch (err) {
      for (const h of found.values()) if (h.fd !== null) closeFd(h.fd);
      throw err;
    }
    return found;
  }
}
