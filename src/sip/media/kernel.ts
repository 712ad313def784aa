// What the relay asks of the dataplane (src/dataplane/types.ts, Dataplane): program a relay
// leg into the kernel, unprogram it, read its counters. In XDP mode (kernelForwarding) the
// kernel forwards a latched leg itself; in nft mode it only filters sources; in off mode it
// does nothing. A relay without a dataplane (unit tests) passes NO_KERNEL.
import type { Dataplane } from '../../dataplane/types.ts';

export type { Endpoint, RelayCounters, RelayLeg } from '../../dataplane/types.ts';

export type MediaKernel = Pick<
  Dataplane,
  'kernelForwarding' | 'openRelay' | 'closeRelay' | 'relayCounters'
>;

export const NO_KERNEL: MediaKernel = {
  kernelForwarding: false,
  openRelay: async () => {},
  closeRelay: async () => null,
  relayCounters: async () => null,
};
