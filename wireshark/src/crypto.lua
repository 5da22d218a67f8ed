-- The ciphers QOTP needs to open a packet, in plain Lua 5.2 (Wireshark 4.0 has no ChaCha20 in
-- its Lua API): ChaCha20 (RFC 8439), HChaCha20 and XChaCha20 for the sequence-number mask,
-- Poly1305 and the ChaCha20-Poly1305 AEAD. Bytes are Lua arrays of numbers 0..255, 1-based;
-- 32-bit words are numbers 0..2^32-1 handled with bit32.
local band, bxor, lrotate = bit32.band, bit32.bxor, bit32.lrotate

local crypto = {}

local function word(b, i) -- little-endian uint32 at b[i..i+3]
  return b[i] + b[i + 1] * 0x100 + b[i + 2] * 0x10000 + b[i + 3] * 0x1000000
end

local function quarter(x, a, b, c, d)
  x[a] = band(x[a] + x[b], 0xffffffff); x[d] = lrotate(bxor(x[d], x[a]), 16)
  x[c] = band(x[c] + x[d], 0xffffffff); x[b] = lrotate(bxor(x[b], x[c]), 12)
  x[a] = band(x[a] + x[b], 0xffffffff); x[d] = lrotate(bxor(x[d], x[a]), 8)
  x[c] = band(x[c] + x[d], 0xffffffff); x[b] = lrotate(bxor(x[b], x[c]), 7)
end

local function rounds(x)
  for _ = 1, 10 do
    quarter(x, 1, 5, 9, 13); quarter(x, 2, 6, 10, 14); quarter(x, 3, 7, 11, 15); quarter(x, 4, 8, 12, 16)
    quarter(x, 1, 6, 11, 16); quarter(x, 2, 7, 12, 13); quarter(x, 3, 8, 9, 14); quarter(x, 4, 5, 10, 15)
  end
end

-- The initial state: "expand 32-byte k", the key, then four words of counter and nonce.
local function state(key, w13, w14, w15, w16)
  local s = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }
  for i = 0, 7 do s[5 + i] = word(key, 1 + 4 * i) end
  s[13], s[14], s[15], s[16] = w13, w14, w15, w16
  return s
end

-- One 64-byte ChaCha20 block of a 32-byte key, a block counter and a 12-byte nonce.
local function block(key, counter, nonce)
  local s = state(key, counter, word(nonce, 1), word(nonce, 5), word(nonce, 9))
  local x = {}
  for i = 1, 16 do x[i] = s[i] end
  rounds(x)
  local out = {}
  for i = 1, 16 do
    local v = band(x[i] + s[i], 0xffffffff)
    out[4 * i - 3], out[4 * i - 2], out[4 * i - 1], out[4 * i] = v % 256, math.floor(v / 0x100) % 256, math.floor(v / 0x10000) % 256, math.floor(v / 0x1000000)
  end
  return out
end

-- data XOR the ChaCha20 keystream from block `counter` on.
function crypto.chacha20(key, nonce, counter, data)
  local out = {}
  for at = 0, #data - 1, 64 do
    local ks = block(key, counter + at / 64, nonce)
    for i = 1, math.min(64, #data - at) do out[at + i] = bxor(data[at + i], ks[i]) end
  end
  return out
end

-- HChaCha20: the rounds over key and a 16-byte input, words 0-3 and 12-15 as the subkey.
local function hchacha20(key, input)
  local x = state(key, word(input, 1), word(input, 5), word(input, 9), word(input, 13))
  rounds(x)
  local out = {}
  for n, i in ipairs({ 1, 2, 3, 4, 13, 14, 15, 16 }) do
    local v = x[i]
    out[4 * n - 3], out[4 * n - 2], out[4 * n - 1], out[4 * n] = v % 256, math.floor(v / 0x100) % 256, math.floor(v / 0x10000) % 256, math.floor(v / 0x1000000)
  end
  return out
end

-- XChaCha20 with a 24-byte nonce: ChaCha20 under HChaCha20(key, nonce[1..16]) with the nonce
-- 0,0,0,0 followed by nonce[17..24].
function crypto.xchacha20(key, nonce24, counter, data)
  local sub = hchacha20(key, { table.unpack(nonce24, 1, 16) })
  local nonce = { 0, 0, 0, 0, table.unpack(nonce24, 17, 24) }
  return crypto.chacha20(sub, nonce, counter, data)
end

-- Poly1305 over 130-bit numbers held in ten 13-bit limbs, so that every product and sum stays
-- well inside a double's 53 exact bits; 2^130 = 5 (mod 2^130 - 5) folds limb k+10 into limb k.
local LIMB = 8192

local function limbs(b, top) -- 16 bytes b[1..16], plus 2^128 * top, as ten 13-bit limbs
  local x = {}
  for i = 1, 16 do x[i] = b[i] or 0 end
  x[17], x[18], x[19] = top, 0, 0
  local l = {}
  for j = 0, 9 do
    local bit = 13 * j
    local i = 1 + math.floor(bit / 8)
    l[j + 1] = math.floor((x[i] + x[i + 1] * 256 + x[i + 2] * 65536) / 2 ^ (bit % 8)) % LIMB
  end
  return l
end

local function carry(h)
  for _ = 1, 2 do
    for i = 1, 10 do
      local c = math.floor(h[i] / LIMB)
      h[i] = h[i] % LIMB
      if i < 10 then h[i + 1] = h[i + 1] + c else h[1] = h[1] + 5 * c end
    end
  end
end

function crypto.poly1305(key, msg)
  local r = {}
  for i = 1, 16 do r[i] = key[i] end
  for _, i in ipairs({ 4, 8, 12, 16 }) do r[i] = band(r[i], 15) end -- clamp
  for _, i in ipairs({ 5, 9, 13 }) do r[i] = band(r[i], 252) end
  local rl = limbs(r, 0)
  local h = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
  local c, m = {}, {}
  for at = 1, #msg, 16 do
    local n = math.min(16, #msg - at + 1)
    for i = 1, 16 do m[i] = i <= n and msg[at + i - 1] or 0 end
    if n < 16 then m[n + 1] = 1 end -- a short last block gets its 1 byte inside the 16
    local ml = limbs(m, n == 16 and 1 or 0)
    for i = 1, 10 do h[i] = h[i] + ml[i] end
    for k = 1, 19 do c[k] = 0 end
    for i = 1, 10 do
      local hi = h[i]
      for j = 1, 10 do c[i + j - 1] = c[i + j - 1] + hi * rl[j] end
    end
    for k = 1, 9 do h[k] = c[k] + 5 * c[k + 10] end
    h[10] = c[10]
    carry(h)
  end
  -- Fully reduce: h - p when h >= p, i.e. when h + 5 reaches 2^130.
  local g = { table.unpack(h) }
  g[1] = g[1] + 5
  for i = 1, 9 do g[i + 1] = g[i + 1] + math.floor(g[i] / LIMB); g[i] = g[i] % LIMB end
  if g[10] >= LIMB then g[10] = g[10] - LIMB; h = g end
  -- tag = (h + s) mod 2^128, little-endian.
  local out, acc, bits, li = {}, 0, 0, 1
  local s = 0
  for i = 1, 16 do
    while bits < 8 do acc = acc + (h[li] or 0) * 2 ^ bits; bits = bits + 13; li = li + 1 end
    local v = acc % 256 + key[16 + i] + s
    out[i] = v % 256
    s = math.floor(v / 256)
    acc = math.floor(acc / 256)
    bits = bits - 8
  end
  return out
end

local function le64(n)
  local out = {}
  for i = 1, 8 do out[i] = n % 256; n = math.floor(n / 256) end
  return out
end

-- Opens ChaCha20-Poly1305 (RFC 8439): the plaintext, or nil when the tag does not match.
function crypto.open(key, nonce, aad, sealed)
  if #sealed < 16 then return nil end
  local ct = {}
  for i = 1, #sealed - 16 do ct[i] = sealed[i] end
  local polykey = block(key, 0, nonce)
  local mac = {}
  local function append(b) for i = 1, #b do mac[#mac + 1] = b[i] end; while #mac % 16 ~= 0 do mac[#mac + 1] = 0 end end
  append(aad)
  append(ct)
  for _, v in ipairs(le64(#aad)) do mac[#mac + 1] = v end
  for _, v in ipairs(le64(#ct)) do mac[#mac + 1] = v end
  local tag = crypto.poly1305(polykey, mac)
  local diff = 0
  for i = 1, 16 do diff = bit32.bor(diff, bxor(tag[i], sealed[#sealed - 16 + i])) end
  if diff ~= 0 then return nil end
  return crypto.chacha20(key, nonce, 1, ct)
end

return crypto
