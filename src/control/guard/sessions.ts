// Session-level protection (reference: "Session level protection"): per dialog, keyed by
// Call-ID, the guard closes a session that receives too many messages, too many abnormally
// quick messages, a run of invalid messages, or repeated authentication failures. The
// thresholds are in config.ts (SESSION_DEFAULTS); like every guard threshold, reaching the
// value trips it (sessionmaxmsg 1000: the 1000th message closes the session).
//
// Memory: at most `capacity` sessions; the oldest-started is forgotten first (a session
// that old is either long finished without a call-end or is a call the timeouts will end).

export type SessionVerdict =
  | undefined
  | 'sessionmaxmsg'
  | 'sessionmaxquickmsg'
  | 'sessionmaxinvalid'
  | 'sessionmaxauthfail';

interface SessionState {
  messages: number;
  quick: number;
  invalidRun: number;
  authFails: number;
  lastAt: number;
  closed: boolean;
}

export interface SessionLimits {
  sessionmaxmsg: number;
  sessionquickmsgms: number;
  sessionmaxquickmsg: number;
  sessionmaxinvalid: number;
  sessionmaxauthfail: number;
}

export type SessionSignal = 'message' | 'invalid' | 'auth-fail';

export class SessionTracker {
  readonly #sessions = new Map<string, SessionState>();
  readonly #capacity: number;

  constructor(capacity = 65_536) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#sessions.size;
  }

  #state(callId: string, now: number): SessionState {
    let state = this.#sessions.get(callId);
    if (state === undefined) {
      state = { messages: 0, quick: 0, invalidRun: 0, authFails: 0, lastAt: now, closed: false };
      this.#sessions.set(callId, state);
      if (this.#sessions.size > this.#capacity) {
        const oldest = this.#sessions.keys().next().value;
        if (oldest !== undefined) this.#sessions.delete(oldest);
      }
    }
    return state;
  }

  /**
   * Records one signal for the session and says whether it must be closed now. A closed
   * session answers its verdict once; later messages of it are the SIP layer's to refuse.
   */
  record(
    callId: string,
    signal: SessionSignal,
    now: number,
    limits: SessionLimits,
  ): SessionVerdict {
    const s = this.#state(callId, now);
    if (s.closed) return undefined;
    let verdict: SessionVerdict;
    if (signal === 'message') {
      if (s.messages > 0 && now - s.lastAt < limits.sessionquickmsgms) s.quick++;
      s.messages++;
      s.invalidRun = 0;
      s.lastAt = now;
      if (limits.sessionmaxmsg > 0 && s.messages >= limits.sessionmaxmsg) verdict = 'sessionmaxmsg';
      else if (limits.sessionmaxquickmsg > 0 && s.quick >= limits.sessionmaxquickmsg)
        verdict = 'sessionmaxquickmsg';
    } else if (signal === 'invalid') {
      s.invalidRun++;
      s.lastAt = now;
      if (limits.sessionmaxinvalid > 0 && s.invalidRun >= limits.sessionmaxinvalid)
        verdict = 'sessionmaxinvalid';
    } else {
      s.authFails++;
      if (limits.sessionmaxauthfail > 0 && s.authFails >= limits.sessionmaxauthfail)
        verdict = 'sessionmaxauthfail';
    }
    if (verdict !== undefined) s.closed = true;
    return verdict;
  }

  /** Numbers for the evidence of a close. */
  snapshot(callId: string): Readonly<SessionState> | undefined {
    return this.#sessions.get(callId);
  }

  /** The dialog ended (call-end): forget it. */
  end(callId: string): void {
    this.#sessions.delete(callId);
  }

  clear(): void {
    this.#sessions.clear();
  }
}
