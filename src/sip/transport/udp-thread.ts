// The main thread's side of the UDP thread (udp-thread-worker.ts): one per process, started
// with the first UDP socket and kept while any is open. It binds sockets there, queues sends
// and hands each received datagram to the socket's owner (UdpEndpoint).
//
// Datagrams go both ways through ByteRings (4 MB each). Received datagrams are read in
// batches: after BATCH of them the main thread goes back round its event loop (timers, TCP,
// the control socket) before reading more, so a flood on UDP cannot starve the rest.
// Sends are queued at once, in order, and the thread is woken once per event-loop turn.
import { Worker } from 'node:worker_threads';
import { ByteRing } from './byte-ring.ts';
import * as records from './udp-records.ts';
import type { OpenRequest } from './udp-thread-worker.ts';

const RING_BYTES = 4 * 1024 * 1024;
/**
 * Datagrams handled per turn of the main thread's event loop. A turn ends with one log write,
 * so longer turns cost less per call; 256 datagrams are a few ms of work, which is all a
 * timer or a TCP message waits behind them.
 */
const BATCH = 256;
/**
 * Within a turn, the UDP thread is woken for what is queued every WAKE_EVERY datagrams (and
 * at the turn's end): an answer does not wait for the whole turn, and one wake-up still
 * serves several. 256 and 16 against 64 a turn, one wake-up each: calls/s 1.05, CPU per call
 * 0.98 (bench:calls --before, 6 rounds of 20,000 calls).
 */
const WAKE_EVERY = 16;
/** Socket numbers are 16 bits in a record. */
const MAX_SOCKETS = 65_535;
/** Send callbacks are 32 bits in a record; 0 is "none". */
const MAX_CALLBACK_ID = 0xffff_ffff;

/** Told how a datagram's send went: an error, or null once the kernel took it. */
export type SendDone = (err: Error | null) => void;

/** What the owner of a socket is told. */
export interface UdpSocketOwner {
  onDatagram(data: Buffer, address: string, port: number): void;
  onOpened(port: number, err: Error | null): void;
  onClosed(): void;
}

/** Datagrams this process dropped between its two threads. */
export interface UdpQueueStats {
  /** Received, dropped because the main thread was 4 MB behind. */
  readonly receivedQueueFull: number;
  /** Received while the queue was over half full, from an address holding more than its share. */
  readonly receivedOverShare: number;
  /** To be sent, dropped because the UDP thread was 4 MB behind. */
  readonly sendQueueFull: number;
}

function errorFrom(text: string): Error {
  const newline = text.indexOf('\n');
  const err: NodeJS.ErrnoException = new Error(text.slice(newline + 1));
  if (newline > 0) err.code = text.slice(0, newline);
  return err;
}

class UdpThread {
  readonly #worker: Worker;
  readonly #toThread = new ByteRing(RING_BYTES);
  readonly #fromThread = new ByteRing(RING_BYTES);
  readonly #owners = new Map<number, UdpSocketOwner>();
  readonly #callbacks = new Map<number, SendDone>();
  #nextSocket = 1;
  #nextCallback = 1;
  #waking: ReturnType<typeof setImmediate> | undefined;
  #failed: Error | undefined;

  constructor() {
    const worker = new URL(
      import.meta.url.endsWith('.ts') ? './udp-thread-worker.ts' : './udp-thread-worker.js',
      import.meta.url,
    );
    this.#worker = new Worker(worker, {
      name: 'tollgate-udp',
      workerData: { toMain: this.#fromThread.shared, fromMain: this.#toThread.shared },
    });
    // The thread only ends if it fails (it has no way to stop on its own): no UDP is left,
    // and a SIP server without its UDP must not go on looking healthy.
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', (code) => this.#fail(new Error(`UDP thread exited (${code})`)));
    this.#worker.unref();
    this.#read();
  }

  /** Binds a socket in the thread; `owner` hears when it is bound and what it receives. */
  open(owner: UdpSocketOwner, ip: string, port: number, family: 4 | 6): number {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#owners.size >= MAX_SOCKETS) throw new Error('too many UDP sockets');
    let socket = this.#nextSocket;
    while (this.#owners.has(socket)) socket = (socket % MAX_SOCKETS) + 1;
    this.#nextSocket = (socket % MAX_SOCKETS) + 1;
    this.#owners.set(socket, owner);
    this.#worker.ref();
    this.#worker.postMessage({ socket, ip, port, family } satisfies OpenRequest);
    return socket;
  }

  /**
   * Queues a datagram; false when the queue to the thread is full (the datagram is lost, as
   * one lost on the way, and counted). `done` hears the kernel's answer.
   */
  send(socket: number, data: Buffer, ip: string, port: number, done?: SendDone): boolean {
    if (this.#failed !== undefined) throw this.#failed;
    let id = 0;
    if (done !== undefined) {
      id = this.#nextCallback;
      this.#nextCallback = id === MAX_CALLBACK_ID ? 1 : id + 1;
    }
    if (!records.put(this.#toThread, records.SEND, socket, port, ip, id, data)) {
      this.#toThread.count(records.QUEUE_FULL);
      return false;
    }
    if (done !== undefined) this.#callbacks.set(id, done);
    this.#waking ??= setImmediate(this.#wake);
    return true;
  }

  /** Closes a socket once everything queued before has been sent. */
  close(socket: number): void {
    if (this.#failed !== undefined) throw this.#failed;
    // A close is never dropped: it waits for room, which the thread is making by sending
    // what was queued before it.
    while (!records.put(this.#toThread, records.CLOSE, socket, 0, '', 0)) this.#toThread.wake();
    this.#wakeNow();
  }

  stats(): UdpQueueStats {
    return {
      receivedQueueFull: this.#fromThread.counter(records.QUEUE_FULL),
      receivedOverShare: this.#fromThread.counter(records.OVER_SHARE),
      sendQueueFull: this.#toThread.counter(records.QUEUE_FULL),
    };
  }

  readonly #wake = (): void => {
    this.#waking = undefined;
    this.#toThread.wake();
  };

  #wakeNow(): void {
    if (this.#waking !== undefined) clearImmediate(this.#waking);
    this.#wake();
  }

  /** Handles what the thread sent, BATCH records at a time, then waits for more. */
  readonly #read = (): void => {
    const ring = this.#fromThread;
    for (let n = 0; n < BATCH; n++) {
      // What the datagrams read so far answered goes out now, not at the end of the batch:
      // each message's wait for its answer is bounded by a few datagrams' work.
      if ((n & (WAKE_EVERY - 1)) === WAKE_EVERY - 1 && this.#waking !== undefined) this.#wakeNow();
      const at = ring.peek();
      if (at < 0) break;
      const kind = records.kindOf(ring, at);
      const socket = records.socketOf(ring, at);
      const owner = this.#owners.get(socket);
      if (kind === records.DATAGRAM) {
        // Copied out before the record is freed; the owner may keep the octets.
        const data = records.dataOf(ring, at);
        const address = records.textOf(ring, at);
        const port = records.portOf(ring, at);
        ring.consume();
        owner?.onDatagram(data, address, port);
        continue;
      }
      const id = records.idOf(ring, at);
      const text = records.textOf(ring, at);
      const port = records.portOf(ring, at);
      ring.consume();
      if (kind === records.SENT) {
        const done = this.#callbacks.get(id);
        this.#callbacks.delete(id);
        done?.(text === '' ? null : errorFrom(text));
      } else if (kind === records.OPENED) {
        if (text !== '') this.#forget(socket);
        owner?.onOpened(port, text === '' ? null : errorFrom(text));
      } else if (kind === records.CLOSED) {
        this.#forget(socket);
        owner?.onClosed();
      }
    }
    const waiting = ring.waitAsync();
    if (waiting === undefined) setImmediate(this.#read);
    else void waiting.then(this.#read);
  };

  #forget(socket: number): void {
    this.#owners.delete(socket);
    // With no socket left, the thread no longer keeps the process alive.
    if (this.#owners.size === 0) this.#worker.unref();
  }

  #fail(err: Error): void {
    if (this.#failed !== undefined) return;
    this.#failed = err;
    // Thrown where nothing catches it: the process ends, and its supervisor restarts it.
    process.nextTick(() => {
      throw err;
    });
  }
}

let thread: UdpThread | undefined;

/** What the UDP thread has dropped; all 0 while it has never run. */
export function udpQueueStats(): UdpQueueStats {
  return thread?.stats() ?? { receivedQueueFull: 0, receivedOverShare: 0, sendQueueFull: 0 };
}

/** The process's UDP thread, started on first use. */
export function udpThread(): UdpThread {
  thread ??= new UdpThread();
  return thread;
}
