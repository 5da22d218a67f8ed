// Package findings holds executable evidence for behaviour of the Go original that the
// spec records as errata (see spec/qotp.spec.json). Each test asserts what qotp does.
package findings

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/qo-proto/qotp"
)

// E15 / finding G5: Listener.Loop, the server loop of the upstream README, returns on the
// first datagram that fails to decode. One stray 50-byte datagram ends the server.
func TestLoopEndsOnFirstUndecodableDatagram(t *testing.T) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := qotp.Listen(qotp.WithNetworkConn(qotp.NewUDPNetworkConn(udp)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	done := make(chan struct{})
	go func() {
		l.Loop(func(s *qotp.Stream) (bool, error) { return true, nil })
		close(done)
	}()

	select {
	case <-done:
		t.Fatal("Loop returned before any datagram arrived")
	case <-time.After(300 * time.Millisecond):
	}

	peer, err := net.DialUDP("udp", nil, udp.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// A Data header (type 4, version 0) for a connection id the server does not know.
	stray := make([]byte, 50)
	stray[0] = 0x80
	if _, err := peer.Write(stray); err != nil {
		t.Fatal(err)
	}

	select {
	case <-done:
		t.Log("qotp Listener.Loop returned after one undecodable datagram (unknown connection id)")
	case <-time.After(2 * time.Second):
		t.Fatal("Loop kept serving after an undecodable datagram; erratum E15 no longer holds")
	}
}
