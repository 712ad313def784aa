// Transactions found by their branch (RFC 3261 §17.1.3, §17.2.3). The branch alone is the
// Map key: the lookup hashes the branch string the message arrived with (a slice of its Via),
// so nothing is built per message, and what else a key holds (a server transaction's sent-by
// and method, a client transaction's method) is compared on the transactions that share the
// branch, which are at most a few (an INVITE and its CANCEL). The sharing is bounded
// (MAX_PER_BRANCH): a peer that writes one branch under a thousand sent-by values would
// otherwise make every lookup of that branch walk a thousand transactions.

/**
 * Live transactions one branch may be shared by. RFC 3261 needs two (an INVITE and its
 * CANCEL); a few more leave room for a request that spirals back through us.
 */
export const MAX_PER_BRANCH = 8;

/** A transaction in a BranchTable: the next one with the same branch (the table's to write). */
export interface BranchEntry<T> {
  branchNext: T | undefined;
}

export class BranchTable<T extends BranchEntry<T>> {
  readonly #map = new Map<string, T>();

  /** The newest transaction with this branch; the others follow in branchNext. */
  first(branch: string): T | undefined {
    return this.#map.get(branch);
  }

  /** Whether MAX_PER_BRANCH transactions share this branch already. */
  full(branch: string): boolean {
    let n = 0;
    for (let t = this.#map.get(branch); t !== undefined; t = t.branchNext)
      if (++n >= MAX_PER_BRANCH) return true;
    return false;
  }

  add(branch: string, tx: T): void {
    tx.branchNext = this.#map.get(branch);
    this.#map.set(branch, tx);
  }

  /** Takes `tx` out (it was added with `branch`); nothing happens when it is not there. */
  remove(branch: string, tx: T): void {
    const head = this.#map.get(branch);
    if (head === tx) {
      if (tx.branchNext === undefined) this.#map.delete(branch);
      else this.#map.set(branch, tx.branchNext);
    } else {
      for (let t = head; t !== undefined; t = t.branchNext) {
        if (t.branchNext === tx) {
          t.branchNext = tx.branchNext;
          break;
        }
      }
    }
    tx.branchNext = undefined;
  }
}
