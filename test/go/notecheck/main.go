// notecheck: an independent verifier for the interoperability tests in test/note-go.test.ts.
// It checks what assentmark produces with Go's own golang.org/x/mod/sumdb/note (signed notes)
// and golang.org/x/mod/sumdb/tlog (RFC 6962 / RFC 9162 Merkle proofs), built in GOPATH mode
// against Debian's golang-golang-x-mod-dev (/usr/share/gocode); it needs no network and no go.mod.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(mktemp -d) GOFLAGS= GOENV=off GOTOOLCHAIN=local \
//	  go build -o /tmp/notecheck ./test/go/notecheck
//	echo '{"verifierKeys":["name+hash+key"],"note":"<base64 of the note bytes>"}' | /tmp/notecheck verify-note
//
// Each sub-command reads one JSON object on stdin and prints a one-line JSON verdict on stdout:
//
//	verify-note  {"verifierKeys":[...], "note":"<base64>"}
//	             note.NewVerifier for each key, then note.Open; prints the text and the signers.
//	inclusion    {"treeSize":N, "rootHash":H, "leafIndex":i, "leafHash":H | "leaf":"<base64 data>", "proof":[H...]}
//	             tlog.CheckRecord(proof, treeSize, rootHash, leafIndex, leafHash); "leaf" is hashed
//	             with tlog.RecordHash, SHA-256(0x00 || data).
//	consistency  {"oldSize":M, "oldRoot":H, "newSize":N, "newRoot":H, "proof":[H...]}
//	             tlog.CheckTree(proof, newSize, newRoot, oldSize, oldRoot).
//	tree         {"leaves":["<base64 data>"...], "inclusion":{"size":N,"index":i}?, "consistency":{"oldSize":M,"newSize":N}?}
//	             tlog's own root hash (tlog.TreeHash; note tlog's empty tree is 32 zero bytes, not
//	             SHA-256 of nothing) and, if asked, tlog.ProveRecord / tlog.ProveTree proofs, in hex.
//
// A hash H is 64 hex digits or 44 characters of padded standard base64.
// Exit status: 0 accepted, 1 rejected (the verdict says why), 2 the request itself was unusable.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const maxInput = 16 << 20

func main() {
	if len(os.Args) != 2 {
		usage("exactly one sub-command: verify-note, inclusion, consistency or tree")
	}
	in, err := io.ReadAll(io.LimitReader(os.Stdin, maxInput+1))
	if err != nil || len(in) > maxInput {
		usage("cannot read the request on stdin")
	}
	switch os.Args[1] {
	case "verify-note":
		verifyNote(in)
	case "inclusion":
		inclusion(in)
	case "consistency":
		consistency(in)
	case "tree":
		tree(in)
	default:
		usage("unknown sub-command " + os.Args[1])
	}
}

func emit(v map[string]any, code int) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"ok":false,"error":"cannot encode the verdict"}`)
		code = 2
	}
	os.Stdout.Write(append(b, '\n'))
	os.Exit(code)
}

func usage(msg string) { emit(map[string]any{"ok": false, "error": "usage: " + msg}, 2) }
func reject(err error) { emit(map[string]any{"ok": false, "error": err.Error()}, 1) }

func decode(in []byte, v any) {
	d := json.NewDecoder(bytes.NewReader(in))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		usage("bad request JSON: " + err.Error())
	}
}

func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	if len(s) == 2*tlog.HashSize {
		b, err := hex.DecodeString(s)
		if err != nil {
			return h, fmt.Errorf("bad hex hash %q", s)
		}
		copy(h[:], b)
		return h, nil
	}
	return tlog.ParseHash(s)
}

func mustHash(what, s string) tlog.Hash {
	h, err := parseHash(s)
	if err != nil {
		usage(what + ": " + err.Error())
	}
	return h
}

func mustHashes(what string, list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = mustHash(fmt.Sprintf("%s[%d]", what, i), s)
	}
	return out
}

func hexList(list []tlog.Hash) []string {
	out := make([]string, len(list))
	for i, h := range list {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func verifyNote(in []byte) {
	var req struct {
		VerifierKeys []string `json:"verifierKeys"`
		Note         string   `json:"note"`
	}
	decode(in, &req)
	msg, err := base64.StdEncoding.DecodeString(req.Note)
	if err != nil {
		usage("note is not base64")
	}
	var vs []note.Verifier
	for _, k := range req.VerifierKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			reject(fmt.Errorf("verifier key %q: %w", k, err))
		}
		vs = append(vs, v)
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		reject(err)
	}
	signers := []string{}
	for _, s := range n.Sigs {
		signers = append(signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	unverified := []string{}
	for _, s := range n.UnverifiedSigs {
		unverified = append(unverified, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	emit(map[string]any{"ok": true, "text": n.Text, "signers": signers, "unverified": unverified}, 0)
}

func inclusion(in []byte) {
	var req struct {
		TreeSize  int64    `json:"treeSize"`
		RootHash  string   `json:"rootHash"`
		LeafIndex int64    `json:"leafIndex"`
		LeafHash  *string  `json:"leafHash"`
		Leaf      *string  `json:"leaf"`
		Proof     []string `json:"proof"`
	}
	decode(in, &req)
	var leaf tlog.Hash
	switch {
	case req.LeafHash != nil && req.Leaf == nil:
		leaf = mustHash("leafHash", *req.LeafHash)
	case req.Leaf != nil && req.LeafHash == nil:
		data, err := base64.StdEncoding.DecodeString(*req.Leaf)
		if err != nil {
			usage("leaf is not base64")
		}
		leaf = tlog.RecordHash(data)
	default:
		usage("give exactly one of leafHash and leaf")
	}
	root := mustHash("rootHash", req.RootHash)
	proof := tlog.RecordProof(mustHashes("proof", req.Proof))
	if err := tlog.CheckRecord(proof, req.TreeSize, root, req.LeafIndex, leaf); err != nil {
		reject(err)
	}
	emit(map[string]any{"ok": true, "treeSize": req.TreeSize, "leafIndex": req.LeafIndex, "leafHash": hex.EncodeToString(leaf[:])}, 0)
}

func consistency(in []byte) {
	var req struct {
		OldSize int64    `json:"oldSize"`
		OldRoot string   `json:"oldRoot"`
		NewSize int64    `json:"newSize"`
		NewRoot string   `json:"newRoot"`
		Proof   []string `json:"proof"`
	}
	decode(in, &req)
	oldRoot := mustHash("oldRoot", req.OldRoot)
	newRoot := mustHash("newRoot", req.NewRoot)
	proof := tlog.TreeProof(mustHashes("proof", req.Proof))
	if err := tlog.CheckTree(proof, req.NewSize, newRoot, req.OldSize, oldRoot); err != nil {
		reject(err)
	}
	emit(map[string]any{"ok": true, "oldSize": req.OldSize, "newSize": req.NewSize}, 0)
}

func tree(in []byte) {
	var req struct {
		Leaves    []string `json:"leaves"`
		Inclusion *struct {
			Size  int64 `json:"size"`
			Index int64 `json:"index"`
		} `json:"inclusion"`
		Consistency *struct {
			OldSize int64 `json:"oldSize"`
			NewSize int64 `json:"newSize"`
		} `json:"consistency"`
	}
	decode(in, &req)
	var stored []tlog.Hash
	read := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(stored)) {
				return nil, errors.New("hash index out of range")
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	leafHashes := make([]tlog.Hash, len(req.Leaves))
	for i, s := range req.Leaves {
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			usage(fmt.Sprintf("leaves[%d] is not base64", i))
		}
		hs, err := tlog.StoredHashes(int64(i), data, read)
		if err != nil {
			usage(err.Error())
		}
		leafHashes[i] = hs[0]
		stored = append(stored, hs...)
	}
	n := int64(len(req.Leaves))
	root, err := tlog.TreeHash(n, read)
	if err != nil {
		usage(err.Error())
	}
	out := map[string]any{"ok": true, "size": n, "rootHash": hex.EncodeToString(root[:]), "leafHashes": hexList(leafHashes)}
	if req.Inclusion != nil {
		if req.Inclusion.Size > n {
			usage("inclusion.size is larger than the tree")
		}
		p, err := tlog.ProveRecord(req.Inclusion.Size, req.Inclusion.Index, read)
		if err != nil {
			reject(err)
		}
		out["inclusionProof"] = hexList(p)
	}
	if req.Consistency != nil {
		if req.Consistency.NewSize > n {
			usage("consistency.newSize is larger than the tree")
		}
		p, err := tlog.ProveTree(req.Consistency.NewSize, req.Consistency.OldSize, read)
		if err != nil {
			reject(err)
		}
		out["consistencyProof"] = hexList(p)
	}
	emit(out, 0)
}
