// The To tag of a digest challenge (401/407) to an INVITE, which is answered statelessly
// (RFC 3261 §8.2.7; kamailio's sl_send_reply before any t_newtran does the same): the INVITE
// server transaction ends the moment its challenge is sent (server.ts), so a flood of
// INVITEs without credentials leaves nothing behind, and a retransmitted INVITE is challenged
// again like a first one. The caller still ACKs that 407 (§17.1.1.3), and the ACK then finds
// no transaction. It must not go on to the proxy core either: its Call-ID and From tag are
// those of the call the authenticated INVITE sets up a moment later, and an ACK is never
// answered, so nothing may be forwarded on its account. The challenge's To tag is therefore
// one the transaction layer recognises without looking anything up: a prefix drawn once per
// process, then a fresh tag (as kamailio's sl module recognises its own tags by prefix in
// sl_filter_ACK). An ACK carrying such a tag is dropped there and counted (layer.ts), whatever
// else it carries (a Route, a body).
//
// The prefix is random, not a constant: no peer's own tag can collide with it by chance
// (48 random bits). A peer that learnt it from a 407 and uses it as its own tag only has the
// ACKs of its own dialogs dropped.
import { randomBytes } from 'node:crypto';
import { newTag, type SipMessage } from '../message/index.ts';

/** 8 base64url characters (48 bits), once per process. */
const PREFIX = randomBytes(6).toString('base64url');
/** The prefix, then newTag()'s eight characters. */
const LENGTH = PREFIX.length + 8;

/** A To tag for a 401/407 to an INVITE (never for another response: see isChallengeTag). */
export function challengeTag(): string {
  return PREFIX + newTag();
}

/** Whether `tag` is one challengeTag() made: its ACK belongs to no transaction and no dialog. */
export function isChallengeTag(tag: string | undefined): boolean {
  return tag !== undefined && tag.length === LENGTH && tag.startsWith(PREFIX);
}

/** Whether a message's To tag is one challengeTag() made (a 401/407 of ours, or its ACK). */
export function hasChallengeTag(m: SipMessage): boolean {
  const to = m.tryView('to');
  return to.ok && isChallengeTag(to.value.tag);
}
