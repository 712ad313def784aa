// Which XDP programs the daemons of this data directory attached during this boot, so that a
// daemon restarted after a crash, kill -9 or the OOM killer can take over exactly its
// predecessor's program and nothing else (xdp-attach.ts).
//
// Why a record, and not the program's name or a pin. The shipped unit gives no
// CAP_SYS_ADMIN, so a restarted daemon can neither open the old program by id
// (BPF_PROG_GET_FD_BY_ID) nor read its name: all it sees is the id `bpf_xdp_query` (netlink)
// reports. Pinning the program in bpffs would hand it an fd, but the unit has no writable
// bpffs (ProtectSystem=strict; /sys/fs/bpf is not even mounted under `ip netns exec`), and
// a bpf_link (detached by the kernel when the process dies) would stop the reconcile pass
// from putting the program back after someone's `ip link set dev X xdp off` (netlink cannot
// touch a link-attached program), which the design relies on. An id is enough: the kernel
// never gives an id to two live programs, and an attached program stays alive, so an
// interface running a recorded id runs the very program a daemon of this directory loaded.
//
// Ids start again at every boot, so a record from an earlier boot must never match: it holds
// the boot's start in wall-clock time (now − CLOCK_BOOTTIME, what os.uptime() reads; the
// unit's ProcSubset=pid hides /proc/sys/kernel/random/boot_id). Two boots are told apart as
// long as the earlier one ran longer than BOOT_TOLERANCE_S; a wall clock stepped by more
// than that between a crash and the restart makes the record look foreign, which is the safe
// side: the restart refuses the old program (mode nft, naming it) rather than replace a
// stranger's. The file is written before the program is attached anywhere (tmp + rename, so
// a death mid-write leaves the old record whole). No fsync: only the machine going down
// loses the page cache, and that is a reboot, which voids the record anyway.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';

export const RECORD_FILE = 'xdp-programs.json';
/** Programs kept: this daemon's and its latest predecessors' (a crash loop adds one each). */
const MAX_IDS = 8;
const MAX_BYTES = 4096;
/** How far two readings of the boot's start may differ (os.uptime() is whole seconds here). */
const BOOT_TOLERANCE_S = 10;

interface RecordFile {
  /** Wall-clock seconds at which this boot started. */
  bootedAt: number;
  /** Kernel program ids, oldest first. */
  programs: number[];
}

function bootedAt(): number {
  return Date.now() / 1000 - uptime();
}

function parse(text: string): RecordFile | null {
  if (text.length > MAX_BYTES) return null;
  try {
    const r = JSON.parse(text) as Partial<RecordFile>;
    if (typeof r.bootedAt !== 'number' || !Number.isFinite(r.bootedAt)) return null;
    if (!Array.isArray(r.programs)) return null;
    const programs = r.programs
      .filter((id): id is number => Number.isInteger(id) && id > 0 && id <= 0xffff_ffff)
      .slice(-MAX_IDS);
    return { bootedAt: r.bootedAt, programs };
  } catch {
    return null;
  }
}

export class XdpRecord {
  readonly path: string;
  readonly #bootedAt: number;
  /** This boot's recorded ids (an earlier boot's record reads as empty). */
  #programs: number[];

  private constructor(path: string, bootedAt: number, programs: number[]) {
    this.path = path;
    this.#bootedAt = bootedAt;
    this.#programs = programs;
  }

  /** Reads the record of the data directory `dir` (missing, unreadable or stale: empty). */
  static open(dir: string): XdpRecord {
    const path = join(dir, RECORD_FILE);
    const now = bootedAt();
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // none yet
    }
    const r = parse(text);
    const sameBoot = r !== null && Math.abs(r.bootedAt - now) <= BOOT_TOLERANCE_S;
    return new XdpRecord(path, now, sameBoot ? r.programs : []);
  }

  /** Whether a daemon of this data directory attached program `id` during this boot. */
  has(id: number): boolean {
    return id > 0 && this.#programs.includes(id);
  }

  /** Records `id` (call before attaching it anywhere); throws if the file cannot be written. */
  add(id: number): void {
    if (this.has(id)) return;
    this.#write([...this.#programs, id].slice(-MAX_IDS));
  }

  /** Forgets `id` (after a clean stop detached it everywhere). */
  remove(id: number): void {
    if (!this.has(id)) return;
    this.#write(this.#programs.filter((p) => p !== id));
  }

  #write(programs: number[]): void {
    const tmp = `${this.path}.tmp`;
    const body: RecordFile = { bootedAt: this.#bootedAt, programs };
    try {
      writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.#programs = programs;
  }
}
