// Random keys the daemon makes once and keeps in the store (the digest nonce key, say):
// nonces handed out before a restart stay valid after it, so phones do not all re-register.
import { randomBytes } from 'node:crypto';
import type { Store } from './store.ts';

/** The key stored under `name`, made (`bytes` random bytes) and stored durably the first time. */
export function persistentKey(store: Store, name: string, bytes = 32): Buffer {
  const existing = store.tables.meta.get(name);
  if (typeof existing === 'string' && existing.length === bytes * 2)
    return Buffer.from(existing, 'hex');
  const key = randomBytes(bytes);
  store.durable(() => store.tables.meta.put(name, key.toString('hex')));
  return key;
}
