// The UDP thread: owns the process's SIP UDP sockets and does their system calls, so that the
// main thread spends its time on SIP. Under load a recvmsg and a sendmsg per message (the
// kernel delivering to the peer and waking it) were a quarter of the main thread's time;
// here they run on the other core, beside the main thread's parsing and transactions.
//
// Datagrams received go to the main thread through one ByteRing; what the main thread sends
// comes through the other, in the order it was sent (udp-records.ts). This thread decides
// nothing about SIP: a datagram it cannot hand over (the main thread 4 MB behind) is dropped
// and counted, as the kernel would drop it from a full socket buffer; so is one from an address
// that already holds more than its share of a crowded queue (queue-shares.ts).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { ByteRing } from './byte-ring.ts';
import { lookupIp } from './lookup-ip.ts';
import { QueueShares } from './queue-shares.ts';
import * as records from './udp-records.ts';

/** What the main thread asks for through postMessage: one socket bound. */
export interface OpenRequest {
  socket: number;
  ip: string;
  port: number;
  family: 4 | 6;
}

const { toMain, fromMain } = workerData as {
  toMain: SharedArrayBuffer;
  fromMain: SharedArrayBuffer;
};
const out = new ByteRing(toMain);
const incoming = new ByteRing(fromMain);
const sockets = new Map<number, Socket>();
const shares = new QueueShares();

/**
 * Answers to the main thread's own requests (bound, closed, sent) are never dropped: without
 * room they wait here, in order, until the main thread has read enough. They are bounded by
 * what it asked for.
 */
const answers: (() => boolean)[] = [];

function tell(kind: number, socket: number, port: number, text: string, id = 0): void {
  const put = () => {
    if (!records.put(out, kind, socket, port, text, id)) return false;
    shares.queued(undefined);
    return true;
  };
  if (answers.length === 0 && put()) {
    out.wake();
    return;
  }
  answers.push(put);
  if (answers.length === 1) setTimeout(tellWaiting, 1);
}

function tellWaiting(): void {
  while (answers.length > 0 && answers[0]!()) answers.shift();
  out.wake();
  if (answers.length > 0) setTimeout(tellWaiting, 1);
}

function errorText(err: NodeJS.ErrnoException): string {
  return `${err.code ?? ''}\n${err.message}`.slice(0, 1000);
}

function open(req: OpenRequest): void {
  const socket = createSocket({
    type: req.family === 6 ? 'udp6' : 'udp4',
    ipv6Only: false,
    // Large enough for a burst of maximum-size datagrams while this thread is busy.
    recvBufferSize: 4 * 1024 * 1024,
    lookup: lookupIp as never,
  });
  const id = req.socket;
  socket.on('message', (data: Buffer, from: RemoteInfo) => {
    shares.settle(out.consumedRecords());
    if (!shares.admits(from.address, out.fill() > 0.5)) out.count(records.OVER_SHARE);
    else if (!records.put(out, records.DATAGRAM, id, from.port, from.address, 0, data))
      out.count(records.QUEUE_FULL);
    else {
      shares.queued(from.address);
      out.wake();
    }
  });
  const onBindError = (err: NodeJS.ErrnoException) => {
    socket.close();
    tell(records.OPENED, id, 0, errorText(err));
  };
  socket.once('error', onBindError);
  socket.bind({ address: req.ip, port: req.port, exclusive: true }, () => {
    socket.off('error', onBindError);
    // A send error (ICMP unreachable reported late, say) must not end the thread.
    socket.on('error', () => {});
    sockets.set(id, socket);
    tell(records.OPENED, id, socket.address().port, '');
  });
}

/** Records handled before this thread reads its sockets again (then it comes back). */
const BATCH = 64;

/** Sends what the main thread queued, in order, then waits for more. */
function drain(): void {
  for (let n = 0; n < BATCH; n++) {
    const at = incoming.peek();
    if (at < 0) break;
    const kind = records.kindOf(incoming, at);
    const id = records.socketOf(incoming, at);
    const socket = sockets.get(id);
    if (kind === records.SEND) {
      const done = records.idOf(incoming, at);
      const data = records.dataOf(incoming, at);
      const port = records.portOf(incoming, at);
      const address = records.textOf(incoming, at);
      if (socket === undefined) {
        if (done !== 0) tell(records.SENT, id, 0, 'ENOTCONN\nUDP socket closed', done);
      } else if (done === 0) socket.send(data, port, address);
      else
        socket.send(data, port, address, (err) =>
          tell(records.SENT, id, 0, err ? errorText(err as NodeJS.ErrnoException) : '', done),
        );
    } else if (kind === records.CLOSE) {
      sockets.delete(id);
      if (socket === undefined) tell(records.CLOSED, id, 0, '');
      else socket.close(() => tell(records.CLOSED, id, 0, ''));
    }
    incoming.consume();
  }
  const waiting = incoming.waitAsync();
  if (waiting === undefined) setImmediate(drain);
  else void waiting.then(drain);
}

parentPort!.on('message', (req: OpenRequest) => open(req));
drain();
