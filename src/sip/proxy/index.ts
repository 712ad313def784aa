// The proxy (RFC 3261 §16): see proxy.ts for the picture. Wiring, in src/sip/service.ts:
//
//   const proxy = new SipProxy({ transactions, bindings, auth, settings, log, report,
//                             own: new OwnAddresses(transports.addresses()) });
//   new TransactionLayer({ onRequest: (tx, req) => proxy.handleRequest(tx, req),
//                          onAck: (ack, source) => proxy.handleAck(ack, source),
//                          onStrayResponse: (res) => proxy.handleStrayResponse(res), ... });
export { type AdvertisedAddress, type ListenPoint, OwnAddresses } from './addresses.ts';
export {
  type Admission,
  type AdmissionStep,
  INVITE_STEPS,
  REQUEST_STEPS,
} from './admission.ts';
export { CallPolicy, type CallTarget } from './call-policy.ts';
export { type CallMedia, Calls, type HangupTarget } from './calls.ts';
export { type CallRecord, DIALOG_DEFAULTS, DialogTable } from './dialogs.ts';
export { type ProxyDeps, type ProxyStats, SipProxy } from './proxy.ts';
export { FORWARDED_METHODS } from './requests.ts';
