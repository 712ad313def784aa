// One TCP or TLS connection carrying SIP: framing (StreamFramer), keepalive pongs, the
// deadlines, what it has shown of itself (for eviction, connection-table.ts), and orderly
// writes. Incoming and outgoing connections are the same class; only who opened them differs.
//
// Deadlines (nginx client_header_timeout, HAProxy timeout http-request), on one timer that is
// armed lazily and re-checks when it fires, so a busy connection costs no timer per message:
// - first message: an incoming connection must deliver a complete message within this of its
//   accept (TLS handshake included); keepalive CRLFs do not count. Idle holders go here.
// - message: once the first octet of a message has arrived, the whole message must follow
//   within this. A one-octet-a-second sender goes here, however small it keeps its buffer.
// - idle: silent both ways for this long (RFC 5626 keepalives keep a live flow open).
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ParseLimits } from '../message/index.ts';
import { type Occupant, type TrackedConnection, Value } from './connection-table.ts';
import { type FrameEvent, StreamFramer } from './stream-framer.ts';
import type { ListenAddress, TransportName } from './types.ts';

const PONG = Buffer.from('\r\n', 'latin1');
/**
 * Octets queued for a peer that does not read. Far above what a live SIP peer leaves
 * unread; a peer that lets this much pile up is holding our memory, and is dropped.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;

export type Deadline = 'first_message_timeout' | 'message_timeout' | 'idle_timeout';

export interface ConnectionHandlers {
  onFrame(conn: StreamConnection, ev: FrameEvent): void;
  /** A deadline passed; the connection is destroyed right after. */
  onDeadline(conn: StreamConnection, deadline: Deadline): void;
  onClose(conn: StreamConnection): void;
}

export class StreamConnection implements TrackedConnection, Occupant {
  readonly id: string;
  readonly transport: TransportName;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly local: ListenAddress | undefined;
  readonly outbound: boolean;
  private readonly socket: Socket | TLSSocket;
  private readonly framer: StreamFramer;
  private readonly handlers: ConnectionHandlers;
  private readonly now: () => number;
  private closed = false;
  /** Complete messages received. */
  private messages = 0;
  private heard: number;
  /** When the message now arriving began; -1 when none is. */
  private messageStartedAt = -1;
  /** When the first complete message is due (incoming only); Infinity once it came. */
  private firstMessageDue: number;
  private readonly messageMs: number;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  /** Its source passed digest authentication (told by the layers above). */
  authenticated = false;
  /** Until when it carries a live registration (the `now` clock). */
  registeredUntil = 0;

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
      /** 0 = no deadline. Incoming connections only. */
      firstMessageMs: number;
      /** 0 = no deadline. */
      messageMs: number;
      /** When the socket was accepted (incoming), on the `now` clock. */
      acceptedAt: number;
      now: () => number;
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
    this.handlers = handlers;
    this.now = init.now;
    this.heard = init.acceptedAt;
    this.messageMs = init.messageMs;
    this.firstMessageDue =
      init.outbound || init.firstMessageMs === 0
        ? Number.POSITIVE_INFINITY
        : init.acceptedAt + init.firstMessageMs;
    const s = this.socket;
    s.setNoDelay(true);
    // Node's socket timeout restarts on every read and write: "idle" means silent both ways.
    s.setTimeout(init.idleTimeoutMs, () => this.expire('idle_timeout'));
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', () => {}); // 'close' follows; resets from peers are routine
    s.on('close', () => {
      this.closed = true;
      if (this.timer !== undefined) clearTimeout(this.timer);
      handlers.onClose(this);
    });
    this.armDeadline();
  }

  private onData(chunk: Buffer): void {
    const now = this.now();
    this.heard = now;
    const before = this.messages;
    for (const ev of this.framer.push(chunk)) {
      if (this.closed) return;
      if (ev.kind === 'ping') this.write(PONG).catch(() => {});
      else {
        if (ev.kind === 'message') this.messages++;
        this.handlers.onFrame(this, ev);
      }
    }
    if (this.closed) return;
    if (this.messages > 0) this.firstMessageDue = Number.POSITIVE_INFINITY;
    if (!this.framer.inMessage) this.messageStartedAt = -1;
    // Octets left after a message that completed in this chunk begin the next one.
    else if (this.messageStartedAt < 0 || this.messages !== before) this.messageStartedAt = now;
    this.armDeadline();
  }

  private nextDue(): number {
    const message =
      this.messageMs > 0 && this.messageStartedAt >= 0
        ? this.messageStartedAt + this.messageMs
        : Number.POSITIVE_INFINITY;
    return Math.min(this.firstMessageDue, message);
  }

  /** Arms the timer for the next deadline unless it is already set to fire before it. */
  private armDeadline(): void {
    const due = this.nextDue();
    if (due === Number.POSITIVE_INFINITY || this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - this.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    const now = this.now();
    if (now >= this.firstMessageDue) this.expire('first_message_timeout');
    else if (now >= this.nextDue()) this.expire('message_timeout');
    else this.armDeadline();
  }

  private expire(deadline: Deadline): void {
    if (this.closed) return;
    this.handlers.onDeadline(this, deadline);
    this.destroy();
  }

  value(now: number): Value {
    if (this.registeredUntil > now) return Value.Registered;
    if (this.authenticated) return Value.Authenticated;
    return this.messages > 0 ? Value.Talking : Value.Unproven;
  }

  lastHeard(): number {
    return this.heard;
  }

  evict(): void {
    this.destroy();
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
