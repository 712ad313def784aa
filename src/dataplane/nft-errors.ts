// Coded errors of the nftables driver (area 'nft'). Every value that is rejected before
// it reaches nft is named in the message, so an operator sees which input was wrong.
import { defineErrors } from '../errors.ts';

export const NftErrors = defineErrors('nft', {
  TG_NFT_BAD_IP: 'not an IPv4 or IPv6 address: "%s"',
  TG_NFT_BAD_CIDR: 'not a CIDR prefix: "%s" (%s)',
  TG_NFT_BAD_TTL: 'bad ttl %s: expected whole seconds in 0..%s (0 = until lifted)',
  TG_NFT_BAD_REASON: 'bad ban reason "%s": %s',
  TG_NFT_BAD_INTERFACE: 'bad interface name "%s": %s',
  TG_NFT_BAD_PORT: 'bad port %s: expected an integer in 1..65535',
  TG_NFT_BAD_LIMIT: 'bad %s %s: expected an integer in %s',
  TG_NFT_BAD_NETNS: 'bad network namespace name "%s"',
  TG_NFT_NOT_INITIALIZED: 'nftables dataplane used before init() (or after close())',
  TG_NFT_NOT_FOUND: 'nft binary not found or not executable: %s',
  TG_NFT_FAILED: 'nft %s failed (exit %s): %s',
  TG_NFT_TIMEOUT: 'nft %s did not finish within %s ms',
  TG_NFT_BAD_OUTPUT: 'unexpected nft JSON output: %s',
});
