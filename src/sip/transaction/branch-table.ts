// Transactions found by their branch (RFC 3261 §17.1.3, §17.2.3). The branch alone is the
// Map key: the lookup hashes the branch string the message arrived with (a slice of its Via),
// so nothing is built per message, and what else a key holds (a server transaction's sent-by
// and method, a client transaction's method) is compared on the transactions that share the
// branch, which are at most a few (an INVITE and its CANCEL).

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
