// Early media (RFC 3960): media before the call is answered, usually the callee side's
// ringback or announcements in a 183 Session Progress. Fraudsters use it to carry whole
// conversations on calls that are never answered (and so never billed), which is why the
// reference lets the operator mute it (its security checklist: "set earlystart to 0 and/or
// blockearlymedia to 1/2/3 and/or blockearlymedia_in to 1/2 if you wish to block all early
// media (including inband ringtones)"):
//
//   earlystart 0          nothing is relayed, either way, before the 2xx
//   blockearlymedia       calls placed by local users ("outgoing"): the callee side's media is
//                         muted until the answer when the callee is
//                           1  a trunk (traffic sender or external route)
//                           2  anything but a local user
//                           3  anything
//   blockearlymedia_in    calls to local users ("incoming"): muted when the caller is
//                           1  a trunk (traffic sender)
//                           2  anyone
//
// Muted means dropped by the relay (counted as "early"), not refused: the call goes on and
// media flows from the answer.

/** Who a side of the call is: a registered local user, or a SIP server (trunk). */
export type PartyKind = 'user' | 'trunk';

export interface EarlyMediaConfig {
  readonly earlystart: boolean;
  readonly blockearlymedia: number | string;
  readonly blockearlymedia_in: number | string;
}

export interface CallKinds {
  readonly caller: PartyKind;
  readonly callee: PartyKind;
}

/** What may flow before the answer: the caller's media, the callee's media. */
export interface EarlyMediaRule {
  readonly callerToCallee: boolean;
  readonly calleeToCaller: boolean;
}

export function earlyMediaRule(config: EarlyMediaConfig, kinds: CallKinds): EarlyMediaRule {
  if (!config.earlystart) return { callerToCallee: false, calleeToCaller: false };
  const out = Number(config.blockearlymedia);
  const inc = Number(config.blockearlymedia_in);
  let mute = false;
  if (kinds.caller === 'user') {
    if (out === 3) mute = true;
    if (out === 2 && kinds.callee !== 'user') mute = true;
    if (out === 1 && kinds.callee === 'trunk') mute = true;
  }
  if (kinds.callee === 'user') {
    if (inc === 2) mute = true;
    if (inc === 1 && kinds.caller === 'trunk') mute = true;
  }
  return { callerToCallee: true, calleeToCaller: !mute };
}
