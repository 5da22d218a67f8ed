// vectorcheck checks every QOTP test vector with the Go original's own code.
//
//	vectorcheck <vectors/data directory>
//
// Every vector file in the directory must have a checker here; each test counts once,
// whatever number of sub-checks it has. The last line is
//
//	go-vectors: N checked, F failed
//
// and the exit status is 1 when F > 0 or a file could not be checked.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/qotp-conformance/interop/internal/qotpx"
)

// tally counts the tests of one file and remembers why the failed ones failed.
type tally struct {
	file     string
	checked  int
	failures []string
}

// check runs one test's checks; any returned error or panic fails the test.
func (t *tally) check(id string, run func() error) {
	t.checked++
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return run()
	}()
	if err != nil {
		t.failures = append(t.failures, fmt.Sprintf("%s: %v", id, err))
	}
}

// findings are things the Go original does that a reader of the report should know,
// without being a vector failure (for example a panic on a packet it must drop anyway).
var findings = map[string]int{}

func finding(text string) { findings[text]++ }

var checkers = map[string]func(path string, t *tally) error{
	"uint-codec.json":      checkUint,
	"rcv-window.json":      checkWindow,
	"payloads.json":        checkPayloads,
	"crypto-messages.json": checkPackets,
	"invalid-packets.json": checkPackets,
	"rto.json":             checkRto,
	"sn-mask.json":         checkSnMask,
	"rcv-buffer.json":      checkRcvBuffer,
}

func readJSON(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

func main() {
	verbose := flag.Bool("v", false, "keep qotp's own log output (it logs every rejected payload)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: vectorcheck [-v] <vectors/data directory>")
		os.Exit(2)
	}
	if !*verbose {
		// qotp sets a coloured slog handler in its init; invalid vectors make it log errors by design.
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	dir := flag.Arg(0)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "vectorcheck: no vector files in %s\n", dir)
		os.Exit(2)
	}
	sort.Strings(files)

	fmt.Printf("go-vectors: checking with qotp %s\n", qotpx.Release())
	checked, failed, broken := 0, 0, 0
	for _, path := range files {
		name := filepath.Base(path)
		run, ok := checkers[name]
		if !ok {
			fmt.Printf("go-vectors: %s: no checker for this file\n", name)
			broken++
			continue
		}
		t := &tally{file: name}
		if err := run(path, t); err != nil {
			fmt.Printf("go-vectors: %s: %v\n", name, err)
			broken++
			continue
		}
		for _, f := range t.failures {
			fmt.Printf("go-vectors: FAIL %s %s\n", name, f)
		}
		fmt.Printf("go-vectors: %-22s %4d checked, %d failed\n", name, t.checked, len(t.failures))
		checked += t.checked
		failed += len(t.failures)
	}
	notes := make([]string, 0, len(findings))
	for text, n := range findings {
		notes = append(notes, fmt.Sprintf("go-vectors: finding (%d x): %s", n, text))
	}
	sort.Strings(notes)
	if len(notes) > 0 {
		fmt.Println(strings.Join(notes, "\n"))
	}
	fmt.Printf("go-vectors: %d checked, %d failed\n", checked, failed+broken)
	if failed+broken > 0 {
		os.Exit(1)
	}
}
