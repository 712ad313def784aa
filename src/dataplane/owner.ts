// One kernel dataplane per network namespace, and who owns it.
//
// XDP programs and the nftables tables `inet tollgate` / `netdev tollgate` are per network
// namespace, so two daemons in one namespace would fight over them (a second one used to
// replace the first's program and delete its tables on the way out). The owner holds a
// lock that the kernel itself scopes to the namespace and releases when the process dies,
// however it dies: a listening unix socket in the abstract namespace, whose names are
// per network namespace (unix(7), "abstract"). Binding it is the test-and-set; EADDRINUSE
// means a live owner. The owner answers a connection with one JSON line naming its pid and
// data directory, so a refused second daemon can say whose the dataplane is.
//
// Consequences: kernel objects found while holding the lock belong to a dead owner (a
// crash or kill -9) and are stale: replacing them is safe. Objects are never touched
// without the lock. An abstract name has no file permissions: any process in the namespace
// could bind it first and keep tollgate from starting; it would be named in the refusal.
import { connect, createServer, type Server } from 'node:net';
import { DataplaneErrors as E } from './errors.ts';

export interface OwnerRecord {
  pid: number;
  dataDir: string;
}

const LOCK_NAME = '\0tollgate/dataplane';
/** How long a refused start waits for the owner to say who it is. */
const ASK_TIMEOUT_MS = 2_000;
const MAX_RECORD_BYTES = 4096;

export class NamespaceLock {
  readonly owner: OwnerRecord;
  readonly #server: Server;

  private constructor(owner: OwnerRecord, server: Server) {
    this.owner = owner;
    this.#server = server;
  }

  /** Takes the lock, or throws TG_DP_OWNED naming the live owner. */
  static async acquire(owner: OwnerRecord, name = LOCK_NAME): Promise<NamespaceLock> {
    const record = `${JSON.stringify(owner)}\n`;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(record);
    });
    server.unref();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(name, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE')
        throw new E.TG_DP_LOCK((err as Error).message);
      const other = await askOwner(name);
      throw new E.TG_DP_OWNED(other?.pid ?? 'unknown', other?.dataDir ?? 'unknown');
    }
    return new NamespaceLock(owner, server);
  }

  release(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The record of whoever holds the lock; null if it does not answer in time. */
export function askOwner(name = LOCK_NAME): Promise<OwnerRecord | null> {
  return new Promise((resolve) => {
    const socket = connect(name);
    let text = '';
    const done = (value: OwnerRecord | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), ASK_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_RECORD_BYTES) done(null);
    });
    socket.on('end', () => done(parseRecord(text)));
    socket.on('error', () => done(null));
  });
}

function parseRecord(text: string): OwnerRecord | null {
  try {
    const r = JSON.parse(text) as Partial<OwnerRecord>;
    if (!Number.isInteger(r.pid) || typeof r.dataDir !== 'string') return null;
    return { pid: r.pid as number, dataDir: r.dataDir.slice(0, 1024) };
  } catch {
    return null;
  }
}
