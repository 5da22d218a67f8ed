// The receiving half of one stream: segments arrive in any order, duplicated or
// overlapping; the application reads them in order. Where a segment overlaps bytes
// already held, the bytes received first are kept. Once the peer's CLOSE fixed where the
// stream ends, no byte at or past that end is kept (clause close.deliver-to-offset). Its
// state is the spec's stream-receive table (open, closing, closed).
import { Machine } from './state-machine.js';

interface Piece {
  offset: number;
  data: Uint8Array;
}

export class StreamReceiver {
  /** Held bytes beyond the read position, sorted by offset, never overlapping. */
  private readonly pieces: Piece[] = [];
  /** Offset of the next byte the application will read. */
  readOffset = 0;
  /** Where the peer's direction ends, once its CLOSE arrived. */
  closeAt: number | null = null;
  bufferedBytes = 0;
  readonly machine = new Machine('stream-receive');

  /**
   * A segment the connection took (it fits the receive buffer), a PING or an empty CLOSE
   * too: its row of the table, its new bytes stored, the end fixed when it is the first
   * CLOSE. Returns how many bytes were new, or null - nothing stored, no row taken - when
   * storing them would take more than `maxNewPieces` new pieces.
   */
  receive(offset: number, data: Uint8Array, isClose: boolean, maxNewPieces = Infinity): number | null {
    const end = offset + data.length;
    const row = this.rowFor(offset, end, isClose);
    const added = data.length > 0 ? this.insert(offset, data, maxNewPieces) : 0;
    if (added === null) return null;
    this.machine.take(row);
    if (row === 'close' || row === 'empty-close-at-0') this.fixEnd(end);
    this.checkDelivered();
    return added;
  }

  private rowFor(offset: number, end: number, isClose: boolean): string {
    switch (this.machine.state) {
      case 'open':
        return !isClose ? 'segment' : end > 0 ? 'close' : 'empty-close-at-0';
      case 'closing': {
        const closeAt = this.closeAt as number;
        if (isClose && end !== closeAt) return 'second-close';
        return offset < closeAt ? 'below-end' : 'beyond-end';
      }
      default:
        return 'late-retransmission';
    }
  }

  private checkDelivered(): void {
    if (this.machine.state === 'closing' && this.readOffset >= (this.closeAt as number)) this.machine.take('delivered');
  }

  /**
   * Stores the new bytes of a segment; returns how many were new, or null (storing nothing)
   * when that would take more than `maxNewPieces` new pieces. Finds its place by binary
   * search and touches only the pieces it overlaps, so a receiver holding many gapped
   * pieces pays O(log n) to find the place, not a sort of all of them.
   */
  private insert(offset: number, data: Uint8Array, maxNewPieces: number): number | null {
    let start = Math.max(offset, this.readOffset);
    const end = Math.min(offset + data.length, this.closeAt ?? Infinity);
    if (start >= end) return 0;
    // The first piece that ends after `start`: everything before it lies wholly below.
    let lo = 0;
    let hi = this.pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pieces[mid] as Piece;
      if (p.offset + p.data.length <= start) lo = mid + 1;
      else hi = mid;
    }
    // Fill the gaps between the pieces this segment overlaps, keeping the bytes held.
    const fresh: Piece[] = [];
    let i = lo;
    for (; i < this.pieces.length && start < end; i++) {
      const piece = this.pieces[i] as Piece;
      if (piece.offset >= end) break;
      if (piece.offset > start) fresh.push({ offset: start, data: data.slice(start - offset, piece.offset - offset) });
      start = Math.max(start, piece.offset + piece.data.length);
    }
    if (start < end) fresh.push({ offset: start, data: data.slice(start - offset, end - offset) });
    const added = fresh.reduce((n, p) => n + p.data.length, 0);
    if (added === 0) return 0;
    if (fresh.length > maxNewPieces) return null;
    // Merge the fresh pieces with the overlapped ones (both sorted), in place of the latter.
    const overlapped = this.pieces.slice(lo, i);
    const merged: Piece[] = [];
    let a = 0;
    let b = 0;
    while (a < overlapped.length || b < fresh.length) {
      const x = overlapped[a];
      const y = fresh[b];
      if (y === undefined || (x !== undefined && x.offset < y.offset)) {
        merged.push(x as Piece);
        a++;
      } else {
        merged.push(y);
        b++;
      }
    }
    this.pieces.splice(lo, i - lo, ...merged);
    this.bufferedBytes += added;
    return added;
  }

  /** How many separate pieces are held (the gaps between them are bytes still missing). */
  get pieceCount(): number {
    return this.pieces.length;
  }

  /**
   * Marks the end of the peer's direction (the end of its first CLOSE segment: a later one
   * at another offset changes nothing, clause close.second-close) and drops the bytes
   * held past it.
   */
  private fixEnd(end: number): void {
    this.closeAt = end;
    let dropped = 0;
    while (this.pieces.length > 0) {
      const last = this.pieces[this.pieces.length - 1] as Piece;
      if (last.offset + last.data.length <= end) break;
      const keep = Math.max(0, end - last.offset);
      dropped += last.data.length - keep;
      if (keep === 0) this.pieces.pop();
      else last.data = last.data.subarray(0, keep);
    }
    this.bufferedBytes -= dropped;
  }

  get readable(): number {
    let offset = this.readOffset;
    for (const piece of this.pieces) {
      if (piece.offset !== offset) break;
      offset += piece.data.length;
    }
    return offset - this.readOffset;
  }

  /** All bytes available in order, possibly none. */
  read(): Uint8Array {
    const out = new Uint8Array(this.readable);
    let filled = 0;
    while (filled < out.length) {
      const piece = this.pieces.shift() as Piece;
      out.set(piece.data, filled);
      filled += piece.data.length;
    }
    this.readOffset += out.length;
    this.bufferedBytes -= out.length;
    this.checkDelivered();
    return out;
  }

  /** The peer closed its direction and everything up to there was read. */
  get finished(): boolean {
    return this.machine.state === 'closed';
  }
}
