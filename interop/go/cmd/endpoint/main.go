// endpoint runs the Go original of QOTP as a test endpoint, with the same command line
// as the reference CLI (reference/src/cli.ts), so that tests and the conformance runner
// launch both alike:
//
//	endpoint serve   [--listen HOST:PORT] [--mode echo|sink] [--seed-hex HEX | --seed STRING] [--keylog FILE] [--mtu N]
//	endpoint connect --to HOST:PORT [--pubkey HEX] [--file FILE] [--streams N] [--mode echo|sink]
//	                 [--seed-hex HEX | --seed STRING] [--keylog FILE] [--mtu N] [--timeout SECONDS]
//
// It drives qotp's Listen and Flush itself instead of Listener.Loop: Loop returns on the
// first datagram that fails to decode, which would end the server on any bad packet.
package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/qo-proto/qotp"
)

type options struct {
	listen, mode, seedHex, seed, keylog, to, pubkey, file string
	mtu, streams, timeout                                 int
	verbose                                               bool
}

func parse(command string, args []string) options {
	var o options
	fs := flag.NewFlagSet(command, flag.ExitOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to bind")
	fs.StringVar(&o.mode, "mode", "echo", "echo or sink")
	fs.StringVar(&o.seedHex, "seed-hex", "", "identity private key as 64 hex digits")
	fs.StringVar(&o.seed, "seed", "", "identity from the SHA-256 of a string")
	fs.StringVar(&o.keylog, "keylog", "", "append QOTP_SHARED_SECRET lines to this file")
	fs.IntVar(&o.mtu, "mtu", 0, "MTU (qotp's default 1400 when 0)")
	fs.StringVar(&o.to, "to", "", "server address (connect)")
	fs.StringVar(&o.pubkey, "pubkey", "", "server identity public key in hex: 0-RTT (connect)")
	fs.StringVar(&o.file, "file", "", "input file, stdin when empty (connect)")
	fs.IntVar(&o.streams, "streams", 1, "number of streams (connect)")
	fs.IntVar(&o.timeout, "timeout", 60, "seconds before giving up (connect)")
	fs.BoolVar(&o.verbose, "v", false, "keep qotp's own log output")
	fs.Parse(args)
	if o.mode != "echo" && o.mode != "sink" {
		fail("--mode must be echo or sink, got %q", o.mode)
	}
	if o.seed != "" && o.seedHex != "" {
		fail("give --seed-hex or --seed, not both")
	}
	if !o.verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	return o
}

// out is the real standard output. qotp v0.2.18 prints debug lines (with the 0-RTT
// secret) to os.Stdout from its InitCryptoSnd code, so os.Stdout is pointed at
// /dev/null and the endpoint's own lines go here.
var out = os.Stdout

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "endpoint: "+format+"\n", args...)
	os.Exit(2)
}

// openKeyLog opens the --keylog file for appending; nil when none was asked for.
func openKeyLog(o options) io.Writer {
	if o.keylog == "" {
		return nil
	}
	f, err := os.OpenFile(o.keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fail("key log: %v", err)
	}
	return f
}

// listen binds the UDP socket itself (qotp does not expose the address it bound) and
// hands it to qotp, with keyLog as qotp's key log writer when it is not nil.
func listen(o options, addr string, keyLog io.Writer) (*qotp.Listener, string) {
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		fail("listen address %q: %v", addr, err)
	}
	udp, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		fail("listen: %v", err)
	}
	// Room for bursts: the default receive buffer drops datagrams under bulk load.
	_ = udp.SetReadBuffer(4 << 20)
	_ = udp.SetWriteBuffer(4 << 20)
	opts := []qotp.ListenFunc{qotp.WithNetworkConn(qotp.NewUDPNetworkConn(udp))}
	if o.seedHex != "" {
		// Not qotp.WithSeedStrHex: in v0.2.18 it copies into a nil seed pointer and
		// panics (finding G7 in interop/README.md). WithSeed takes the same 32 bytes.
		seed, err := hex.DecodeString(strings.TrimPrefix(o.seedHex, "0x"))
		if err != nil || len(seed) != 32 {
			fail("--seed-hex must be 64 hex digits (32 bytes)")
		}
		opts = append(opts, qotp.WithSeed([32]byte(seed)))
	}
	if o.seed != "" {
		opts = append(opts, qotp.WithSeedStr(o.seed))
	}
	if o.mtu > 0 {
		opts = append(opts, qotp.WithMtu(o.mtu))
	}
	if keyLog != nil {
		opts = append(opts, qotp.WithKeyLogWriter(keyLog))
	}
	l, err := qotp.Listen(opts...)
	if err != nil {
		fail("listen: %v", err)
	}
	return l, udp.LocalAddr().String()
}

func now() uint64 { return uint64(time.Now().UnixNano()) }

// readAll takes every in-order segment the stream holds; eof reports the peer's close.
func readAll(s *qotp.Stream) (data []byte, eof bool) {
	for {
		chunk, err := s.Read()
		data = append(data, chunk...)
		if err != nil {
			return data, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		}
		if len(chunk) == 0 {
			return data, false
		}
	}
}

// drive runs one Listen/Flush round. Decode errors are counted, not fatal.
func drive(l *qotp.Listener, wait uint64, rejected *int) (*qotp.Stream, uint64, bool) {
	s, err := l.Listen(wait, now())
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil, 0, false
		}
		*rejected++
	}
	return s, l.Flush(now()), true
}

type serverStream struct {
	pending  []byte // echo not yet accepted by Write
	eof      bool
	closed   bool
	received int
	digest   hash.Hash // sink: SHA-256 of what arrived
}

// streamKey names a stream across the Stream objects qotp makes for it: qotp v0.2.18 drops
// a stream object when it considers the stream closed and makes a new one for the next
// packet on that id, so the endpoint's state must not hang on the object.
type streamKey struct {
	conn uintptr
	id   uint32
}

func keyOf(s *qotp.Stream) streamKey {
	return streamKey{conn: reflect.ValueOf(s).Elem().FieldByName("conn").Pointer(), id: s.StreamID()}
}

func serve(o options) {
	l, addr := listen(o, o.listen, openKeyLog(o))
	fmt.Fprintf(out, "qotp listening %s %x\n", addr, l.PubKey().Bytes())
	states := map[streamKey]*serverStream{}
	latest := map[streamKey]*qotp.Stream{} // the object to write to
	rejected := 0
	wait := qotp.MinDeadLine
	for {
		s, next, ok := drive(l, wait, &rejected)
		if !ok {
			return
		}
		wait = next
		if s != nil {
			k := keyOf(s)
			latest[k] = s
			st := states[k]
			if st == nil {
				st = &serverStream{digest: sha256.New()}
				states[k] = st
			}
			data, eof := readAll(s)
			st.eof = st.eof || eof
			st.received += len(data)
			if o.mode == "echo" {
				st.pending = append(st.pending, data...)
			} else {
				st.digest.Write(data)
			}
		}
		for k, st := range states {
			s := latest[k]
			if len(st.pending) > 0 {
				n, err := s.Write(st.pending)
				st.pending = st.pending[n:]
				if err != nil {
					st.pending = nil // the stream is closed for writing
				}
			}
			if st.eof && len(st.pending) == 0 && !st.closed {
				st.closed = true
				if o.mode == "sink" {
					fmt.Fprintf(out, "qotp stream %d received %d bytes sha256 %x\n", s.StreamID(), st.received, st.digest.Sum(nil))
				}
				s.Close()
			}
		}
	}
}

type clientStream struct {
	s         *qotp.Stream
	out       []byte
	received  []byte
	closing   bool
	closedAt  time.Time // when Close was called
	confirmed bool      // qotp reports the stream closed
}

// closeLinger is how long an echo client waits for qotp to confirm a close. qotp v0.2.18
// credits an ACK-only packet to stream 0, so a close on another stream may never be
// confirmed; the echo has proved delivery by then, and the report says which it was.
const closeLinger = 2 * time.Second

func connect(o options) {
	if o.to == "" {
		fail("connect needs --to HOST:PORT")
	}
	var input []byte
	var err error
	if o.file == "" {
		input, err = io.ReadAll(os.Stdin)
	} else {
		input, err = os.ReadFile(o.file)
	}
	if err != nil {
		fail("input: %v", err)
	}
	bind := "127.0.0.1:0"
	if len(o.to) > 0 && o.to[0] == '[' {
		bind = "[::1]:0"
	}
	to, err := netip.ParseAddrPort(o.to)
	if err != nil {
		fail("--to %q: %v", o.to, err)
	}
	// Not qotp's key log on the client: see keylog.go.
	l, _ := listen(o, bind, nil)
	// Dial and DialWithCrypto take the same arguments in every release; the string
	// variants were renamed in v0.2.19 (DialWithCryptoString -> DialStringWithCryptoString).
	var conn *qotp.Conn
	var serverIdentity *ecdh.PublicKey
	if o.pubkey != "" {
		key, err := hex.DecodeString(strings.TrimPrefix(o.pubkey, "0x"))
		if err == nil {
			serverIdentity, err = ecdh.X25519().NewPublicKey(key)
		}
		if err != nil {
			fail("--pubkey must be 64 hex digits (an X25519 public key): %v", err)
		}
		conn, err = l.DialWithCrypto(to, serverIdentity)
	} else {
		conn, err = l.Dial(to)
	}
	if err != nil {
		fail("dial: %v", err)
	}
	keyLog := newClientKeyLog(openKeyLog(o), conn, serverIdentity)
	streams := make([]*clientStream, o.streams)
	for i := range streams {
		streams[i] = &clientStream{s: conn.Stream(uint32(i)), out: input}
	}
	dialed := time.Now()
	deadline := dialed.Add(time.Duration(o.timeout) * time.Second)
	rejected := 0
	wait := uint64(0)
	echoComplete := false
	for time.Now().Before(deadline) {
		allEchoed, allDone := true, true
		for _, cs := range streams {
			if len(cs.out) > 0 {
				n, _ := cs.s.Write(cs.out)
				cs.out = cs.out[n:]
			}
			allEchoed = allEchoed && len(cs.received) >= len(input)
		}
		if o.mode == "echo" && allEchoed && !echoComplete {
			echoComplete = true
			fmt.Fprintf(os.Stderr, "qotp echo complete after %d ms\n", time.Since(dialed).Milliseconds())
		}
		for _, cs := range streams {
			// sink: close after sending; echo: close every stream once all echoes are back
			// (closing one while others are busy upsets qotp v0.2.18's stream bookkeeping).
			ready := len(cs.out) == 0 && (o.mode == "sink" || allEchoed)
			if ready && !cs.closing {
				cs.closing, cs.closedAt = true, time.Now()
				cs.s.Close()
			}
			cs.confirmed = cs.confirmed || (cs.closing && cs.s.IsClosed())
			// The linger applies to echo only, where the echo has proved delivery; a sink
			// has no such proof and waits for qotp's confirmation (or the timeout).
			lingered := o.mode == "echo" && time.Since(cs.closedAt) > closeLinger
			allDone = allDone && cs.closing && (cs.confirmed || lingered)
		}
		if allDone {
			break
		}
		s, next, ok := drive(l, wait, &rejected)
		if !ok {
			break
		}
		keyLog.poll()
		wait = min(next, uint64(qotp.MinDeadLine))
		for _, cs := range streams {
			if cs.s == s || s == nil {
				data, _ := readAll(cs.s)
				cs.received = append(cs.received, data...)
			}
		}
	}
	ok := true
	for _, cs := range streams {
		closeState := "close-unconfirmed"
		if cs.confirmed {
			closeState = "closed"
		}
		switch {
		case !cs.closing && o.mode == "sink":
			ok = false
			fmt.Fprintf(out, "qotp stream %d failed: timeout after %d s (qotp took %d of %d bytes to send)\n",
				cs.s.StreamID(), o.timeout, len(input)-len(cs.out), len(input))
		case !cs.closing:
			ok = false
			fmt.Fprintf(out, "qotp stream %d failed: timeout after %d s (%d of %d bytes back)\n",
				cs.s.StreamID(), o.timeout, len(cs.received), len(input))
		case o.mode == "sink":
			ok = ok && cs.confirmed
			fmt.Fprintf(out, "qotp stream %d sent %d bytes sha256 %x %s\n",
				cs.s.StreamID(), len(input), sha256.Sum256(input), closeState)
		default:
			verdict := "ok"
			if !bytes.Equal(cs.received, input) {
				verdict, ok = "MISMATCH", false
			}
			fmt.Fprintf(out, "qotp stream %d echoed %d bytes sha256 %x %s %s\n",
				cs.s.StreamID(), len(cs.received), sha256.Sum256(cs.received), verdict, closeState)
		}
	}
	if rejected > 0 {
		fmt.Fprintf(os.Stderr, "endpoint: %d datagrams failed to decode\n", rejected)
	}
	l.Close()
	if !ok {
		os.Exit(1)
	}
}

func main() {
	if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = devNull
	}
	if len(os.Args) < 2 {
		fail("usage: endpoint serve|connect [flags] (see the package comment)")
	}
	o := parse(os.Args[1], os.Args[2:])
	switch os.Args[1] {
	case "serve":
		serve(o)
	case "connect":
		connect(o)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
