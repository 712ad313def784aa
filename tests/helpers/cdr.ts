// A CDR as the billing ledger stores it: a one-minute call answered at once, through a trunk.
// Tests and benchmarks that fill a store or end calls straight through the ledger vary only
// the fields given.
import type { CdrRecord } from '../../src/store/records.ts';

export function minuteCdr(
  fields: Pick<CdrRecord, 'callId' | 'account' | 'endedAt' | 'costMicros' | 'dialled' | 'sourceIp'>,
): CdrRecord {
  return {
    destination: 'trunk',
    trunk: 'carrier',
    startedAt: fields.endedAt - 60_000,
    answeredAt: fields.endedAt - 60_000,
    durationSeconds: 60,
    billedSeconds: 60,
    status: 200,
    disconnectSide: 'caller',
    reason: 'BYE',
    refused: false,
    ...fields,
  };
}
