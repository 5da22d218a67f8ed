module github.com/qotp-conformance/interop

go 1.25

require github.com/qo-proto/qotp v0.2.18

require (
	github.com/MatusOllah/slogcolor v1.7.0 // indirect
	github.com/fatih/color v1.18.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/crypto v0.42.0 // indirect
	golang.org/x/sys v0.36.0 // indirect
)
