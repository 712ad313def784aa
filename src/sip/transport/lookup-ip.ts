// dgram resolves every destination, even an IP address, and the stock resolver answers on the
// next tick: a closure and a tick per datagram. We only ever send to IP addresses (checked by
// SipTransports and the media relay), so those are answered at once; anything else still goes
// to DNS.
import { lookup } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function lookupIp(address: string, options: unknown, callback: LookupCallback): void {
  const family = isIP(address);
  if (family !== 0) callback(null, address, family);
  else lookup(address, options as never, callback as never);
}
