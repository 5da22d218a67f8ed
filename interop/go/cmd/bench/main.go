// bench measures the Go original's seal and open of one Data packet of a given size
// (1400 bytes by default): qotp's own encryptData and decryptData, reached through
// internal/qotpx, the code path a listener runs for every Data packet. It prints one JSON
// object with the operations per second of each repeat. Link with -ldflags=-checklinkname=0.
//
//	bench [-size 1400] [-seconds 1] [-repeats 5]
package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/qotp-conformance/interop/internal/qotpx"
)

// Data packet = 9-byte header (type and connection id) | 6-byte masked SN | payload | 16-byte tag.
const dataOverhead = 9 + 6 + 16

type result struct {
	Implementation string    `json:"implementation"`
	PacketSize     int       `json:"packetSize"`
	Seal           []float64 `json:"seal"`
	Open           []float64 `json:"open"`
}

// rate runs op for about d and returns operations per second.
func rate(d time.Duration, op func(i uint64)) float64 {
	start := time.Now()
	var n uint64
	for time.Since(start) < d {
		for k := 0; k < 64; k++ {
			op(n)
			n++
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func main() {
	size := flag.Int("size", 1400, "Data packet size in bytes")
	seconds := flag.Float64("seconds", 1, "length of one measurement")
	repeats := flag.Int("repeats", 5, "measurements of each operation")
	flag.Parse()
	if *size < dataOverhead+8 {
		fmt.Fprintf(os.Stderr, "bench: -size must be at least %d\n", dataOverhead+8)
		os.Exit(2)
	}
	secret := make([]byte, 32)
	payload := make([]byte, *size-dataOverhead)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(payload)
	const connId = 0x1122334455667788
	packet, err := qotpx.EncryptData(connId, true, secret, 1, 0, payload)
	if err != nil || len(packet) != *size {
		fmt.Fprintf(os.Stderr, "bench: encryptData gave %d bytes, err %v\n", len(packet), err)
		os.Exit(1)
	}
	if _, err := qotpx.DecryptData(packet, false, 0, secret); err != nil {
		fmt.Fprintf(os.Stderr, "bench: decryptData refused its own packet: %v\n", err)
		os.Exit(1)
	}
	d := time.Duration(*seconds * float64(time.Second))
	r := result{Implementation: "go", PacketSize: *size}
	for i := 0; i < *repeats; i++ {
		r.Seal = append(r.Seal, rate(d, func(n uint64) { _, _ = qotpx.EncryptData(connId, true, secret, n, 0, payload) }))
		r.Open = append(r.Open, rate(d, func(uint64) { _, _ = qotpx.DecryptData(packet, false, 0, secret) }))
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}
