package qotpx

// go:linkname binds by symbol name and checks no types: a declaration here that no longer
// matches qotp's function still links, and the call then passes its arguments in the wrong
// registers or reads garbage. This test compares every declaration in qotpx.go with the
// function it names in the qotp source the module is built against (the module cache, or
// the working tree of a Go workspace), so that a changed signature fails here, loudly,
// instead of in the vector checker's results.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// compatible lists the differences that are known and harmless, each with its reason. Any
// other difference fails the test.
var compatible = map[string]string{
	// v0.2.18: bytesAcked uint64; v0.2.19: rawLen int. Both are one 64-bit integer register
	// on the 64-bit platforms the suite runs on, and the values (datagram lengths) are far
	// below 2^63, so the call means the same on both releases.
	"updateMeasurements param 2: uint64 vs int": "one 64-bit register either way; lengths < 2^63",
}

type signature struct {
	params, results []string
}

func TestLinknameSignatures(t *testing.T) {
	ours := linknamed(t)
	if len(ours) == 0 {
		t.Fatal("no go:linkname declarations found in qotpx.go")
	}
	theirs := qotpFunctions(t, qotpSourceDir(t))
	for target, sig := range ours {
		want, ok := theirs[target]
		if !ok {
			t.Errorf("qotp has no function %s any more (go:linkname target of qotpx)", target)
			continue
		}
		name := target[strings.LastIndex(target, ".")+1:]
		if len(sig.params) != len(want.params) || len(sig.results) != len(want.results) {
			t.Errorf("%s: qotpx declares (%s) (%s), qotp has (%s) (%s)", target,
				strings.Join(sig.params, ", "), strings.Join(sig.results, ", "),
				strings.Join(want.params, ", "), strings.Join(want.results, ", "))
			continue
		}
		compare := func(kind string, a, b []string) {
			for i := range a {
				if a[i] == b[i] {
					continue
				}
				key := fmt.Sprintf("%s %s %d: %s vs %s", name, kind, i, a[i], b[i])
				if why, ok := compatible[key]; ok {
					t.Logf("%s: accepted difference (%s)", key, why)
					continue
				}
				t.Errorf("%s: %s %d is %s in qotpx but %s in qotp: update qotpx.go (and its callers)", target, kind, i, a[i], b[i])
			}
		}
		compare("param", sig.params, want.params)
		compare("result", sig.results, want.results)
	}
}

// linknamed reads qotpx.go: target symbol -> the declared signature, the receiver (if the
// target is a method) as the first parameter, qotp's package qualifier dropped.
func linknamed(t *testing.T) map[string]signature {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "qotpx.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]signature{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Doc == nil {
			continue
		}
		for _, c := range fn.Doc.List {
			fields := strings.Fields(c.Text)
			if len(fields) == 3 && fields[0] == "//go:linkname" {
				target := strings.TrimPrefix(fields[2], "github.com/qo-proto/qotp.")
				out[target] = signature{types(fset, fn.Type.Params, "qotp."), types(fset, fn.Type.Results, "qotp.")}
			}
		}
	}
	return out
}

// qotpSourceDir asks the go command where the qotp module it builds with lives.
func qotpSourceDir(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/qo-proto/qotp").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/qo-proto/qotp: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list gives no directory for github.com/qo-proto/qotp (run go mod download)")
	}
	return dir
}

// qotpFunctions reads qotp's non-test sources: name (or (*Recv).name) -> signature, the
// receiver as the first parameter.
func qotpFunctions(t *testing.T, dir string) map[string]signature {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]signature{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "qotp" {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			name := fn.Name.Name
			params := types(fset, fn.Type.Params, "")
			if fn.Recv != nil {
				recv := types(fset, fn.Recv, "")
				name = "(" + recv[0] + ")." + name
				params = append(recv, params...)
			}
			out[name] = signature{params, types(fset, fn.Type.Results, "")}
		}
	}
	return out
}

// types lists a field list's types, one per name (a, b uint64 gives two), with the given
// package qualifier removed.
func types(fset *token.FileSet, fields *ast.FieldList, qualifier string) []string {
	if fields == nil {
		return nil
	}
	var out []string
	for _, f := range fields.List {
		var b strings.Builder
		if err := printer.Fprint(&b, fset, f.Type); err != nil {
			panic(err)
		}
		s := strings.ReplaceAll(b.String(), qualifier, "")
		for range max(1, len(f.Names)) {
			out = append(out, s)
		}
	}
	return out
}
