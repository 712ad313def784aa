// The SIP transaction layer (RFC 3261 §17, RFC 6026). See layer.ts for the picture.
export { challengeTag, isChallengeTag } from './challenge-tag.ts';
export {
  type ClientHandlers,
  type ClientOutcome,
  type ClientState,
  ClientTransaction,
} from './client.ts';
export { type Clock, systemClock, type TimerHandle } from './clock.ts';
export { type Endpoint, isReliable, type TransportName } from './endpoint.ts';
export { TransactionErrors } from './errors.ts';
export {
  DEFAULT_MAX_TRANSACTIONS,
  TransactionLayer,
  type TransactionLayerOptions,
  type TransactionStats,
} from './layer.ts';
export { makeAck, newBranch } from './messages.ts';
export { type ServerEndReason, type ServerState, ServerTransaction } from './server.ts';
export { TimerSet } from './timer-set.ts';
export {
  type BaseTimers,
  backoff,
  DEFAULT_BASE_TIMERS,
  deriveTimers,
  type TimerValues,
} from './timers.ts';
