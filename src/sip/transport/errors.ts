// The transport area's catalogue of coded errors (see src/errors.ts). Parse failures of
// incoming octets are not errors here: they become `reject` events. These are for the
// operator (a port that cannot be bound) and for callers of send() (no route, limits).
import { defineErrors } from '../../errors.ts';

export const TransportErrors = defineErrors('transport', {
  TG_TRANSPORT_PORT_IN_USE:
    'cannot listen for SIP over %s on %s port %s: the port is already in use (change %s or stop the other program)',
  TG_TRANSPORT_BIND_FAILED: 'cannot listen for SIP over %s on %s port %s: %s',
  TG_TRANSPORT_BAD_OPTION: 'transport option %s: %s',
  TG_TRANSPORT_NO_TLS_CREDENTIALS:
    'TLS listeners need a key and certificate (give tlsCredentials, or a data directory for a self-signed one)',
  TG_TRANSPORT_NOT_LISTENING: 'no %s transport is open to send to %s',
  TG_TRANSPORT_CONNECTION_LIMIT: 'cannot open a %s connection to %s: %s',
  TG_TRANSPORT_SEND_FAILED: 'sending over %s to %s failed: %s',
  TG_TRANSPORT_BAD_DESTINATION: 'cannot send to %s: %s',
  TG_TRANSPORT_CLOSED: 'the SIP transports are closed',
});
