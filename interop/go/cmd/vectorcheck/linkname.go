package main

// The Go original's encoders and decoders are unexported. These declarations bind to
// them by symbol name (go:linkname) so that the checker runs exactly the code a qotp
// listener runs. The binary must be linked with -ldflags=-checklinkname=0, which
// run-vectorcheck.sh passes. Signatures follow qotp v0.2.18 (crypto.go, measurement.go).

import (
	"crypto/ecdh"
	_ "unsafe" // required by go:linkname

	"github.com/qo-proto/qotp"
)

//go:linkname encryptInitSnd github.com/qo-proto/qotp.encryptInitSnd
func encryptInitSnd(pubKeyIdSnd *ecdh.PublicKey, pubKeyEpSnd *ecdh.PublicKey, mtu int) (connId uint64, encData []byte)

//go:linkname encryptInitRcv github.com/qo-proto/qotp.encryptInitRcv
func encryptInitRcv(connId uint64, pubKeyIdSnd *ecdh.PublicKey, pubKeyEpRcv *ecdh.PublicKey,
	prvKeyEpSnd *ecdh.PrivateKey, snCrypto uint64, packetData []byte) (encData []byte, err error)

//go:linkname encryptInitCryptoSnd github.com/qo-proto/qotp.encryptInitCryptoSnd
func encryptInitCryptoSnd(pubKeyIdRcv *ecdh.PublicKey, pubKeyIdSnd *ecdh.PublicKey, prvKeyEpSnd *ecdh.PrivateKey,
	snCrypto uint64, mtu int, packetData []byte) (connId uint64, encData []byte, err error)

//go:linkname encryptInitCryptoRcv github.com/qo-proto/qotp.encryptInitCryptoRcv
func encryptInitCryptoRcv(connId uint64, pubKeyEpRcv *ecdh.PublicKey, prvKeyEpSnd *ecdh.PrivateKey,
	snCrypto uint64, packetData []byte) (encData []byte, err error)

//go:linkname encryptData github.com/qo-proto/qotp.encryptData
func encryptData(connId uint64, isSender bool, sharedSecret []byte, snCrypto uint64, epochCrypto uint64,
	packetData []byte) (encData []byte, err error)

//go:linkname decryptInitSnd github.com/qo-proto/qotp.decryptInitSnd
func decryptInitSnd(encData []byte, mtu int) (pubKeyIdSnd *ecdh.PublicKey, pubKeyEpSnd *ecdh.PublicKey, err error)

//go:linkname decryptInitRcv github.com/qo-proto/qotp.decryptInitRcv
func decryptInitRcv(encData []byte, prvKeyEpSnd *ecdh.PrivateKey) (sharedSecret []byte, pubKeyIdRcv *ecdh.PublicKey,
	pubKeyEpRcv *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname decryptInitCryptoSnd github.com/qo-proto/qotp.decryptInitCryptoSnd
func decryptInitCryptoSnd(encData []byte, prvKeyIdRcv *ecdh.PrivateKey, mtu int) (pubKeyIdSnd *ecdh.PublicKey,
	pubKeyEpSnd *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname decryptInitCryptoRcv github.com/qo-proto/qotp.decryptInitCryptoRcv
func decryptInitCryptoRcv(encData []byte, prvKeyEpSnd *ecdh.PrivateKey) (sharedSecret []byte,
	pubKeyEpRcv *ecdh.PublicKey, m *qotp.Message, err error)

//go:linkname decryptData github.com/qo-proto/qotp.decryptData
func decryptData(encData []byte, isSender bool, epochCrypt uint64, sharedSecret []byte) (*qotp.Message, error)

//go:linkname backoff github.com/qo-proto/qotp.backoff
func backoff(rtoNano uint64, rtoNr int) (uint64, error)

//go:linkname updateMeasurements github.com/qo-proto/qotp.(*Conn).updateMeasurements
func updateMeasurements(c *qotp.Conn, rttMeasurementNano uint64, bytesAcked uint64, nowNano uint64)

//go:linkname rtoNano github.com/qo-proto/qotp.(*Conn).rtoNano
func rtoNano(c *qotp.Conn) uint64

//go:linkname calcPacing github.com/qo-proto/qotp.(*Conn).calcPacing
func calcPacing(c *qotp.Conn, packetSize uint64) uint64

//go:linkname onDuplicateAck github.com/qo-proto/qotp.(*Conn).onDuplicateAck
func onDuplicateAck(c *qotp.Conn)

//go:linkname onPacketLoss github.com/qo-proto/qotp.(*Conn).onPacketLoss
func onPacketLoss(c *qotp.Conn)
