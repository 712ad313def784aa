// A legitimate phone that keeps registering (SIPp register.xml, one REGISTER with digest
// auth per run) until told to stop: what a customer sees while an attack is going on.
//
//   const phone = keepRegistering(t, { netns: link.a.ns, localIp: link.a.v4,
//     target: { ip: link.b.v4, port: 5060 }, transport: 'udp', account });
//   ... attack ...
//   const { ok, failed, failures } = await phone.stop();   // failed === 0: never refused
import type { ExecutionContext } from 'ava';
import { runSipp, type SippOptions } from './sipp.ts';

export interface RegistrationTally {
  ok: number;
  failed: number;
  /** SIPp's output of the failed runs (the last 4000 characters of each). */
  failures: string[];
}

export interface RegistrationLoop {
  /** Registrations so far. */
  tally(): RegistrationTally;
  /** Resolves once `n` more registrations have succeeded; rejects after timeoutMs. */
  waitForSuccesses(n: number, timeoutMs: number): Promise<void>;
  /** Finishes the registration in progress and returns the tally. */
  stop(): Promise<RegistrationTally>;
}

export function keepRegistering(
  t: ExecutionContext,
  o: Omit<SippOptions, 'scenario' | 'calls' | 'rate'>,
): RegistrationLoop {
  const tally: RegistrationTally = { ok: 0, failed: 0, failures: [] };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // A lost REGISTER is retransmitted after 500 ms (T1); 5 s bounds a run that gets
      // no answer at all, so a blocked phone shows up as a failure, not as a hang.
      const r = await runSipp(t, { timeoutSeconds: 5, ...o, scenario: 'register.xml', calls: 1 });
      if (r.exitCode === 0 && r.successful === 1) tally.ok++;
      else {
        tally.failed++;
        tally.failures.push(r.output);
      }
    }
  })();
  t.teardown(() => {
    stopped = true;
    return loop;
  });
  return {
    tally: () => ({ ...tally, failures: [...tally.failures] }),
    waitForSuccesses: async (n, timeoutMs) => {
      const target = tally.ok + n;
      const deadline = Date.now() + timeoutMs;
      while (tally.ok < target) {
        if (Date.now() > deadline)
          throw new Error(
            `legitimate registrations: ${tally.ok}/${target}, ${tally.failed} failed`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: async () => {
      stopped = true;
      await loop;
      return { ...tally, failures: [...tally.failures] };
    },
  };
}
