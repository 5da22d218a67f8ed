// Deterministic pseudo-random numbers (xorshift32) for simulations, fuzzing and impaired
// test networks: the same seed gives the same sequence, so a failure replays exactly.
// Never for keys or nonces; those come from the caller's `randomBytes`.

/** A 32-bit generator; `next()` gives an unsigned 32-bit value, never the same state twice in a row. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Uniform numbers in [0, 1) from a seed. */
export function seededUnit(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}

/** Pseudo-random bytes from a seed. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const next = xorshift32(seed);
  return (n) => Uint8Array.from({ length: n }, () => next() & 0xff);
}
