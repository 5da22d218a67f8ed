// Package qotpx reaches the Go original's unexported encoders, decoders and measurement
// functions: these declarations bind to them by symbol name (go:linkname), so that the
// vector checker and the benchmarks run exactly the code a qotp listener runs. A binary
// that uses them must be linked with -ldflags=-checklinkname=0 (run-vectorcheck.sh and
// the bench do). The declarations match qotp v0.2.18 and v0.2.19 (crypto.go,
// measurement.go); linkname_test.go compares them with the qotp source the module is built
// with, since the linker checks no types.
package qotpx

import (
	"crypto/ecdh"
	"runtime/debug"
	_ "unsafe" // required by go:linkname

	"github.com/qo-proto/qotp"
)

//go:linkname EncryptInitSnd github.com/qo-proto/qotp.encryptInitSnd
func EncryptInitSnd(pubKeyIdSnd *ecdh.PublicKey, pubKeyEpSnd *ecdh.PublicKey, mtu int) (connId uint64, encData []byte)

//go:linkname EncryptInitRcv github.com/qo-proto/qotp.encryptInitRcv
func EncryptInitRcv(connId uint64, pubKeyIdSnd *ecdh.PublicKey, pubKeyEpRcv *ecdh.PublicKey,
	prvKeyEpSnd *ecdh.PrivateKey, snCrypto uint64, packetData []byte) (encData []byte, err error)

//go:linkname EncryptInitCryptoSnd github.com/qo-proto/qotp.encryptInitCryptoSnd
func EncryptInitCryptoSnd(pubKeyIdRcv *ecdh.PublicKey, pubKeyIdSnd *ecdh.PublicKey, prvKeyEpSnd *ecdh.PrivateKey,
	snCrypto uint64, mtu int, packetData []byte) (connId uint64, encData []byte, err error)

//go:linkname EncryptInitCryptoRcv github.com/qo-proto/qotp.encryptInitCryptoRcv
func EncryptInitCryptoRcv(connId uint64, pubKeyEpRcv *ecdh.PublicKey, prvKeyEpSnd *ecdh.PrivateKey,
	snCrypto uint64, packetData []byte) (encData []byte, err error)

//go:linkname EncryptData github.com/qo-proto/qotp.encryptData
func EncryptData(connId uint64, isSender bool, sharedSecret []byte, snCrypto uint64, epochCrypto uint64,
	packetData []byte) (encData []byte, err error)

//go:linkname DecryptInitSnd github.com/qo-proto/qotp.decryptInitSnd
func DecryptInitSnd(encData []byte, mtu int) (pubKeyIdSnd *ecdh.PublicKey, pubKeyEpSnd *ecdh.PublicKey, err error)

//go:linkname DecryptInitRcv github.com/qo-proto/qotp.decryptInitRcv
func DecryptInitRcv(encData []byte, prvKeyEpSnd *ecdh.PrivateKey) (sharedSecret []byte, pubKeyIdRcv *ecdh.PublicKey,
	pubKeyEpRcv *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname DecryptInitCryptoSnd github.com/qo-proto/qotp.decryptInitCryptoSnd
func DecryptInitCryptoSnd(encData []byte, prvKeyIdRcv *ecdh.PrivateKey, mtu int) (pubKeyIdSnd *ecdh.PublicKey,
	pubKeyEpSnd *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname DecryptInitCryptoRcv github.com/qo-proto/qotp.decryptInitCryptoRcv
func DecryptInitCryptoRcv(encData []byte, prvKeyEpSnd *ecdh.PrivateKey) (sharedSecret []byte,
	pubKeyEpRcv *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname DecryptData github.com/qo-proto/qotp.decryptData
func DecryptData(encData []byte, isSender bool, epochCrypt uint64, sharedSecret []byte) (*qotp.Message, error)

//go:linkname Backoff github.com/qo-proto/qotp.backoff
func Backoff(rtoNano uint64, rtoNr int) (uint64, error)

// OpenNoVerify XORs `encoded` (the masked sequence number) with XChaCha20 keystream from
// block counter 1 under sharedSecret and the 24-byte nonce: how qotp unmasks an SN.
//
//go:linkname OpenNoVerify github.com/qo-proto/qotp.openNoVerify
func OpenNoVerify(sharedSecret []byte, nonce []byte, encoded []byte, snSer []byte) ([]byte, error)

// UpdateMeasurements feeds one RTT sample and the byte count of its bandwidth sample
// (v0.2.18 names it bytesAcked uint64 and passes the ACK's length; v0.2.19 names it rawLen
// int and passes the ACK's length + 42).
//
//go:linkname UpdateMeasurements github.com/qo-proto/qotp.(*Conn).updateMeasurements
func UpdateMeasurements(c *qotp.Conn, rttMeasurementNano uint64, sampleBytes uint64, nowNano uint64)

//go:linkname RtoNano github.com/qo-proto/qotp.(*Conn).rtoNano
func RtoNano(c *qotp.Conn) uint64

//go:linkname CalcPacing github.com/qo-proto/qotp.(*Conn).calcPacing
func CalcPacing(c *qotp.Conn, packetSize uint64) uint64

//go:linkname OnDuplicateAck github.com/qo-proto/qotp.(*Conn).onDuplicateAck
func OnDuplicateAck(c *qotp.Conn)

//go:linkname OnPacketLoss github.com/qo-proto/qotp.(*Conn).onPacketLoss
func OnPacketLoss(c *qotp.Conn)

// Release says which qotp the running binary was built with, as `go version -m` shows it:
// the module version, "(devel)" for a Go workspace, or "VERSION => PATH" for a replace.
func Release() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/qo-proto/qotp" {
			if dep.Replace != nil {
				return dep.Version + " => " + dep.Replace.Path + " " + dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown (not a dependency)"
}
