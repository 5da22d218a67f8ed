// The receiving half of one stream: segments arrive in any order, duplicated or
// overlapping; the application reads them in order. Where a segment overlaps bytes
// already held, the bytes received first are kept.

interface Piece {
  offset: number;
  data: Uint8Array;
}

export class StreamReceiver {
  /** Held bytes beyond the read position, sorted by offset, never overlapping. */
  private pieces: Piece[] = [];
  /** Offset of the next byte the application will read. */
  readOffset = 0;
  /** Where the peer's direction ends, once its CLOSE arrived. */
  closeAt: number | null = null;
  bufferedBytes = 0;

  /** Stores the new bytes of a segment; returns how many were new. */
  insert(offset: number, data: Uint8Array): number {
    let start = Math.max(offset, this.readOffset);
    const end = offset + data.length;
    let added = 0;
    const pieces: Piece[] = [];
    for (const piece of this.pieces) {
      const pieceEnd = piece.offset + piece.data.length;
      if (pieceEnd <= start || piece.offset >= end || start >= end) {
        pieces.push(piece);
        continue;
      }
      if (piece.offset > start) {
        pieces.push({ offset: start, data: data.slice(start - offset, piece.offset - offset) });
        added += piece.offset - start;
      }
      pieces.push(piece);
      start = Math.max(start, pieceEnd);
    }
    if (start < end) {
      pieces.push({ offset: start, data: data.slice(start - offset) });
      added += end - start;
    }
    this.pieces = pieces.sort((a, b) => a.offset - b.offset);
    this.bufferedBytes += added;
    return added;
  }

  /** Marks the end of the peer's direction (the end of its CLOSE segment). */
  close(end: number): void {
    this.closeAt ??= end;
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
    return out;
  }

  /** The peer closed its direction and everything up to there was read. */
  get finished(): boolean {
    return this.closeAt !== null && this.readOffset >= this.closeAt;
  }
}
