// The named timers of one call. Every timer a call ever has goes through here, so that
// ending the call (Calls.finish / hangUp) is one clearAll() and nothing of a dead call can
// fire later: starting a name replaces its previous timer, and the set counts what is live
// (the call table sums it; tests assert it drops to zero with the fake clock).
//
//   callinittimeout  INVITE forwarded → first provisional        (invite.ts)
//   ringtimeout      first provisional → answer                  (invite.ts)
//   absolutetimeout  answer → teardown                           (calls.ts)
//   maxduration      answer → teardown, from CallAccounting      (calls.ts)
//   sessionexpires   last refresh → teardown (RFC 4028 §10)      (session-timer.ts, calls.ts)
//   mediatimeout     last media seen → teardown                  (calls.ts, fed by the relay)
import { TimerSet } from '../transaction/index.ts';

export type CallTimerName =
  | 'callinittimeout'
  | 'ringtimeout'
  | 'absolutetimeout'
  | 'maxduration'
  | 'sessionexpires'
  | 'mediatimeout';

/** The same mechanism as a transaction's timers, with the call's names. */
export class CallTimers extends TimerSet<CallTimerName> {}
