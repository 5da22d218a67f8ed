-- lua5.2 crypto-check.lua path/to/qotp.lua < vectors
-- Checks the dissector's pure-Lua ciphers: two RFC 8439 vectors, then per input line (hex:
-- key nonce aad sealed plaintext mask-nonce mask, made by @noble/ciphers) an AEAD open, the
-- rejection of a flipped tag bit and the XChaCha20 sequence-number mask.
-- The dissector's crypto chunk alone: it needs nothing of Wireshark's.
local source = assert(io.open(arg[1])):read("*a")
local chunk = assert(source:match("\n(local crypto = %(function%(%)\n.-\nend%)%(%)\n)%-%- crypto: end"))
local crypto = assert(load(chunk .. "return crypto"))()
local function bytes(s) local t = {} for h in s:gmatch("%x%x") do t[#t + 1] = tonumber(h, 16) end return t end
local function text(s) local t = {} for c in s:gmatch(".") do t[#t + 1] = c:byte() end return t end
local function hex(t) local o = {} for i = 1, #t do o[i] = string.format("%02x", t[i]) end return table.concat(o) end

-- RFC 8439 2.5.2 and 2.4.2.
local tag = crypto.poly1305(bytes("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
    text("Cryptographic Forum Research Group"))
print(hex(tag) == "a8061dc1305136c6c22b8baf0c0127a9" and "rfc8439 poly1305 ok" or "rfc8439 poly1305 WRONG " .. hex(tag))
local key = bytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
local sunscreen = text("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " ..
    "sunscreen would be it.")
local ct = hex(crypto.chacha20(key, bytes("000000000000004a00000000"), 1, sunscreen))
local rfc_ok = ct:sub(1, 32) == "6e2e359a2568f98041ba0728dd0d6981"
  and ct:sub(-36) == "5af90bbf74a35be6b40b8eedf2785e42874d"
print(rfc_ok and "rfc8439 chacha20 ok" or "rfc8439 chacha20 WRONG " .. ct)

for line in io.lines() do
  local f = {}
  for w in line:gmatch("%S+") do f[#f + 1] = w end
  local k, n, aad, sealed = bytes(f[1]), bytes(f[2]), bytes(f[3]), bytes(f[4])
  local plain = crypto.open(k, n, aad, sealed)
  local bad = bytes(f[4])
  bad[#bad] = bit32.bxor(bad[#bad], 1)
  local mask = crypto.xchacha20(k, bytes(f[6]), 1, { 0, 0, 0, 0, 0, 0 })
  local ok = plain ~= nil and hex(plain) == f[5] and crypto.open(k, n, aad, bad) == nil and hex(mask) == f[7]
  print(ok and "open ok, tampered rejected, mask ok" or "WRONG " .. line)
end
