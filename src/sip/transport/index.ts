// SIP transports: UDP, TCP, TLS listeners; received/rport; stream framing; limits.
export { type Certificate, ensureCertificate } from '../../crypto/certificate.ts';
export { TransportErrors } from './errors.ts';
export {
  type DaemonTransportInputs,
  resolveOptions,
  type TlsCredentials,
  TRANSPORT_DEFAULTS,
  type TransportOptions,
  transportOptionsFromSettings,
} from './options.ts';
export { buildRejectResponse } from './reject-response.ts';
export { type FrameEvent, StreamFramer } from './stream-framer.ts';
export { type BoundAddress, SipTransports } from './transports.ts';
export {
  CONNECTION_LIMITS,
  type ConnectionLimit,
  type ConnectionStats,
  type Destination,
  type LimitEvent,
  type ListenAddress,
  type RejectEvent,
  type Source,
  type TransportEvents,
  type TransportName,
} from './types.ts';
export { defaultPort, responseDestination, stampReceived } from './via-rules.ts';
