// Which connections need attention when: a binary min-heap of (time, connection) with
// lazy deletion. A connection is rescheduled by pushing a new entry; entries whose time
// is no longer the connection's current one are skipped when they reach the top. This
// keeps the endpoint's cost per datagram logarithmic in the number of connections
// instead of walking all of them.

interface Entry<T> {
  at: number;
  item: T;
}

export class DueQueue<T> {
  private readonly heap: Entry<T>[] = [];
  /** The time each item is currently scheduled for; absent: not scheduled. */
  private readonly current = new Map<T, number>();

  /** Schedules `item` at `at` (replacing its earlier time), or unschedules it for null. */
  schedule(item: T, at: number | null): void {
    if (at === null) {
      this.current.delete(item);
      return;
    }
    if (this.current.get(item) === at) return;
    this.current.set(item, at);
    this.push({ at, item });
  }

  /** The earliest scheduled time, or null when nothing is scheduled. */
  peek(): number | null {
    this.dropStale();
    return this.heap[0]?.at ?? null;
  }

  /** Removes and returns every item scheduled at or before `now`. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (top === undefined || top.at > now) return due;
      this.pop();
      this.current.delete(top.item);
      due.push(top.item);
    }
  }

  get size(): number {
    return this.current.size;
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top !== undefined && this.current.get(top.item) !== top.at; top = this.heap[0])
      this.pop();
  }

  private push(e: Entry<T>): void {
    // Deadlines that move later (an idle timer restarted by every packet) leave stale
    // entries behind that would reach the top only much later: rebuild before they pile up.
    if (this.heap.length > 2 * this.current.size + 64) this.rebuild();
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Entry<T>).at <= e.at) break;
      h[i] = h[parent] as Entry<T>;
      i = parent;
    }
    h[i] = e;
  }

  private rebuild(): void {
    const entries = [...this.current].map(([item, at]) => ({ at, item }));
    this.heap.length = 0;
    for (const e of entries.sort((a, b) => a.at - b.at)) this.heap.push(e); // a sorted array is a heap
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Entry<T>;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= h.length) break;
      const right = left + 1;
      const child = right < h.length && (h[right] as Entry<T>).at < (h[left] as Entry<T>).at ? right : left;
      if ((h[child] as Entry<T>).at >= last.at) break;
      h[i] = h[child] as Entry<T>;
      i = child;
    }
    h[i] = last;
  }
}
