// The guard's coded errors. The hot path (Guard.observe) never throws on what it receives
// from the network; these are for programming and configuration mistakes, and for the
// asynchronous ban call failing (logged with its code, never thrown into the SIP layer).
import { defineErrors } from '../../errors.ts';

export const GuardErrors = defineErrors('guard', {
  TG_GUARD_BAD_CAPACITY: 'counter capacity must be an integer from %s to %s, got %s',
  TG_GUARD_BAD_PERIOD: 'counter period must be a positive number of milliseconds, got %s',
  TG_GUARD_BAN_FAILED: 'banning %s (%s) failed: %s',
});
