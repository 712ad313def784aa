// Turns a failed bind into an error that names the transport, address and port (and the
// config key that sets it), instead of a bare EADDRINUSE from deep inside Node.
import { TransportErrors } from './errors.ts';
import type { ListenAddress, TransportName } from './types.ts';

export function bindError(transport: TransportName, at: ListenAddress, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const name = transport.toUpperCase();
  if (code === 'EADDRINUSE') {
    const key = transport === 'tls' ? 'sipsport' : 'sipport';
    return new TransportErrors.TG_TRANSPORT_PORT_IN_USE(name, at.ip, at.port, key);
  }
  return new TransportErrors.TG_TRANSPORT_BIND_FAILED(
    name,
    at.ip,
    at.port,
    (err as Error).message ?? String(err),
  );
}
