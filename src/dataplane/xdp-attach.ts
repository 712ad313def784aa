// Where the XDP program runs: attaching it to interfaces, detaching it, and reading back
// what an interface runs now. Ownership rule: the program this process loaded (known by its
// kernel id) is ours; another program named like ours belongs to an earlier tollgate. The
// caller holds the namespace's dataplane lock (owner.ts) before attaching, so such a
// program's owner is dead and it is stale: it is replaced. Any other program is foreign and
// never touched. Detach removes only our own program, never a successor's.
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

export function ifindexOf(ifname: string): number {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname)) throw new E.TG_DP_NO_INTERFACE(ifname);
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
  } catch {
    throw new E.TG_DP_NO_INTERFACE(ifname);
  }
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

export class XdpAttachments {
  readonly #progFd: number;
  readonly #ownId: number;
  readonly #logger: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly #attached = new Map<string, { ifindex: number; mode: AttachedMode }>();

  constructor(progFd: number, logger?: Pick<Logger, 'info' | 'warn'>) {
    this.#progFd = progFd;
    this.#ownId = progIdOfFd(progFd);
    this.#logger = logger;
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
      const prog = progById(id);
      if (prog !== null) closeFd(prog.fd);
      return { ifindex, mode, progId: id, progName: prog?.name ?? '', ours: false };
    }
    return { ifindex, mode: null, progId: 0, progName: '', ours: false };
  }

  /**
   * Attaches to ifname. 'auto' tries native (driver) XDP and falls back to generic (skb)
   * with a logged reason. Our program already there: nothing to do. A stale tollgate program
   * is replaced atomically; a foreign one makes the attach fail (TG_DP_FOREIGN_PROGRAM).
   */
  attach(ifname: string, mode: AttachMode = 'auto'): AttachedMode {
    const ifindex = ifindexOf(ifname);
    const stale = this.#staleOrOwn(ifname, ifindex);
    try {
      for (const [flags, s] of stale) {
        const name: AttachedMode = flags === XDP_FLAGS.DRV_MODE ? 'xdp' : 'xdp-generic';
        const satisfies = mode === 'auto' || (mode === 'native') === (flags === XDP_FLAGS.DRV_MODE);
        if (s.id === this.#ownId && satisfies) {
          this.#attached.set(ifname, { ifindex, mode: name });
          return name;
        }
      }
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
        // Native and generic cannot be active together: clear a stale one in the other mode.
        if (stale.has(other)) {
          xdpDetach(ifindex, other);
          stale.delete(other);
        }
        const old = stale.get(flags);
        const rc =
          old === undefined
            ? xdpAttach(ifindex, this.#progFd, flags | XDP_FLAGS.UPDATE_IF_NOEXIST)
            : xdpAttach(ifindex, this.#progFd, flags, old.fd);
        if (rc === 0) {
          if (old !== undefined) {
            this.#logger?.warn(
              { ifname, staleId: old.id, mode: name },
              'replaced a stale tollgate XDP program (its owner is gone)',
            );
            stale.delete(flags);
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
      for (const s of stale.values()) closeFd(s.fd);
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

  /** Detaches from every interface; throws the first error after trying all. */
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
  }

  /** Tollgate programs (ours or stale) on ifindex by mode flag; throws if a foreign one is there. */
  #staleOrOwn(ifname: string, ifindex: number): Map<number, { id: number; fd: number }> {
    const found = new Map<number, { id: number; fd: number }>();
    try {
      for (const [flags] of MODES) {
        const id = xdpQueryId(ifindex, flags);
        if (id === 0) continue;
        const prog = progById(id);
        if (prog === null) continue; // went away meanwhile
        if (prog.name !== PROG_NAME) {
          closeFd(prog.fd);
          throw new E.TG_DP_FOREIGN_PROGRAM(ifname, prog.name, id);
        }
        found.set(flags, { id, fd: prog.fd });
      }
    } catch (err) {
      for (const s of found.values()) closeFd(s.fd);
      throw err;
    }
    return found;
  }
}
