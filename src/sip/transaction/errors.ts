// The transaction layer's catalogue of coded errors (see src/errors.ts). Received messages
// never throw: what cannot be matched or handled is counted and dropped (or answered). These
// are for the transaction user calling the layer wrongly, or asking when it is full.
import { defineErrors } from '../../errors.ts';

export const TransactionErrors = defineErrors('sip-transaction', {
  TG_SIPTX_TABLE_FULL: 'transaction table full (%s live transactions)',
  TG_SIPTX_BAD_REQUEST: 'cannot start a client transaction: %s',
  TG_SIPTX_BAD_RESPONSE: 'cannot send this response: %s',
  TG_SIPTX_BAD_OPTION: 'transaction layer option %s: %s',
  TG_SIPTX_FINAL_NOT_KEPT: 'the final response went to the TU only (%s): done was not kept',
});
