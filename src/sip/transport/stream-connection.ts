// One TCP or TLS connection carrying SIP: framing (StreamFramer), keepalive pongs, the idle
// timeout, and orderly writes. Incoming and outgoing connections are the same class; only
// who opened them differs.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ParseLimits } from '../message/index.ts';
import type { TrackedConnection } from './connection-table.ts';
import { type FrameEvent, StreamFramer } from './stream-framer.ts';
import type { ListenAddress, TransportName } from './types.ts';

const PONG = Buffer.from('\r\n', 'latin1');
/**
 * Octets queued for a peer that does not read. Far above what a live SIP peer leaves
 * unread; a peer that lets this much pile up is holding our memory, and is dropped.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;

export interface ConnectionHandlers {
  onFrame(conn: StreamConnection, ev: FrameEvent): void;
  onIdle(conn: StreamConnection): void;
  onClose(conn: StreamConnection): void;
}

export class StreamConnection implements TrackedConnection {
  readonly id: string;
  readonly transport: TransportName;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly local: ListenAddress | undefined;
  readonly outbound: boolean;
  private readonly socket: Socket | TLSSocket;
  private readonly framer: StreamFramer;
  private closed = false;

  constructor(
    init: {
      id: string;
      transport: TransportName;
      socket: Socket | TLSSocket;
      remoteIp: string;
      remotePort: number;
      local?: ListenAddress;
      outbound: boolean;
      limits: ParseLimits;
      maxBuffered: number;
      idleTimeoutMs: number;
    },
    handlers: ConnectionHandlers,
  ) {
    this.id = init.id;
    this.transport = init.transport;
    this.socket = init.socket;
    this.remoteIp = init.remoteIp;
    this.remotePort = init.remotePort;
    this.local = init.local;
    this.outbound = init.outbound;
    this.framer = new StreamFramer(init.limits, init.maxBuffered);
    const s = this.socket;
    s.setNoDelay(true);
    // Node's socket timeout restarts on every read and write: "idle" means silent both ways.
    s.setTimeout(init.idleTimeoutMs, () => {
      handlers.onIdle(this);
      this.destroy();
    });
    s.on('data', (chunk: Buffer) => {
      for (const ev of this.framer.push(chunk)) {
        if (this.closed) return;
        if (ev.kind === 'ping') this.write(PONG).catch(() => {});
        else handlers.onFrame(this, ev);
      }
    });
    s.on('error', () => {}); // 'close' follows; resets from peers are routine
    s.on('close', () => {
      this.closed = true;
      handlers.onClose(this);
    });
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error('connection closed'));
        return;
      }
      if (this.socket.writableLength + data.length > MAX_UNSENT_BYTES) {
        this.destroy();
        reject(new Error(`peer does not read: ${MAX_UNSENT_BYTES} octets unsent`));
        return;
      }
      this.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends what is queued (an error response, say), then closes. */
  end(data?: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
    // A peer that never reads must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
