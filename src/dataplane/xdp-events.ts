// Flood events from the XDP program's ring buffer, delivered to listeners on the main
// thread. While anyone listens, a timer drains the ring every pollMs (unref'd: it never
// keeps the process alive); nobody listening, nothing polls.
import type { Logger } from '../log.ts';
import { addrText } from './addr-bytes.ts';
import { decodeEvent, TG_EVENT_TYPE } from './layout.ts';
import { RingBuffer } from './libbpf.ts';
import type { FloodEvent } from './types.ts';

/** CLOCK_MONOTONIC ns, the clock of bpf_ktime_get_ns (libuv's hrtime on Linux). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export class FloodEvents {
  readonly #ringFd: number;
  readonly #pollMs: number;
  readonly #logger: Pick<Logger, 'warn'> | undefined;
  readonly #listeners = new Set<(event: FloodEvent) => void>();
  #ring: RingBuffer | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(ringFd: number, pollMs: number, logger?: Pick<Logger, 'warn'>) {
    this.#ringFd = ringFd;
    this.#pollMs = pollMs;
    this.#logger = logger;
  }

  subscribe(listener: (event: FloodEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.poll(), this.#pollMs);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Drains the ring buffer now, delivering events to listeners; returns how many. */
  poll(): number {
    if (this.#closed) return 0;
    this.#ring ??= new RingBuffer(this.#ringFd, (data) => this.#deliver(data));
    return this.#ring.consume();
  }

  close(): void {
    this.#stop();
    this.#ring?.free();
    this.#ring = null;
    this.#closed = true;
  }

  #deliver(data: Uint8Array): void {
    const raw = decodeEvent(data);
    if (raw === null || raw.type !== TG_EVENT_TYPE.TG_EV_FLOOD) return;
    const ageMs = Number(monotonicNs() - raw.tsNs) / 1e6;
    const event: FloodEvent = {
      ip: addrText(raw.addr),
      packets: raw.dropped,
      at: Math.round(Date.now() - Math.max(0, ageMs)),
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#logger?.warn({ err }, 'flood event listener failed');
      }
    }
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
