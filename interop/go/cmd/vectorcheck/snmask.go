package main

// Checks of the sequence-number mask: HChaCha20 subkeys with golang.org/x/crypto's
// chacha20.HChaCha20 (what qotp's XChaCha20 runs first), and masked sequence numbers
// with qotp's own openNoVerify, which unmasks them.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/qotp-conformance/interop/internal/qotpx"
	"golang.org/x/crypto/chacha20"
)

func checkSnMask(path string, t *tally) error {
	var f snMaskFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				key, nonce, subkey, err := decode3(v.Key, v.Nonce, v.Subkey)
				if err != nil {
					return err
				}
				got, err := chacha20.HChaCha20(key, nonce[:16])
				if err != nil {
					return err
				}
				if !bytes.Equal(got, subkey) {
					return fmt.Errorf("HChaCha20 gives %x, vector says %x", got, subkey)
				}
				if g.Kind != "sn-mask" {
					return nil
				}
				masked, err := hex.DecodeString(v.Masked)
				if err != nil {
					return err
				}
				sn, err := strconv.ParseUint(v.Sn, 10, 64)
				if err != nil {
					return err
				}
				plain, err := qotpx.OpenNoVerify(key, nonce, masked, make([]byte, 6))
				if err != nil {
					return err
				}
				want := make([]byte, 8)
				for i := 0; i < 6; i++ {
					want[i] = byte(sn >> (8 * i))
				}
				if !bytes.Equal(plain, want[:6]) {
					return fmt.Errorf("qotp unmasks %x to %x, vector says sequence number %d (%x)", masked, plain, sn, want[:6])
				}
				return nil
			})
		}
	}
	return nil
}

func decode3(a, b, c string) ([]byte, []byte, []byte, error) {
	var out [3][]byte
	for i, s := range []string{a, b, c} {
		d, err := hex.DecodeString(s)
		if err != nil {
			return nil, nil, nil, err
		}
		out[i] = d
	}
	return out[0], out[1], out[2], nil
}
