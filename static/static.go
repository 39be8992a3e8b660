package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.js *.svg
var files embed.FS

// Assets serves the embedded files and names them with a content hash, so
// browsers may cache them forever and still never run a stale script.
// It is safe for concurrent use once built.
type Assets struct {
	prefix string
	hashes map[string]string // file name -> short content hash
}

// New indexes the embedded files for serving under prefix (for example
// "/static/").
func New(prefix string) (*Assets, error) {
	a := &Assets{prefix: prefix, hashes: map[string]string{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	return a, err
}

// URL returns the cache-busting URL of an embedded file, or "" when there
// is no such file.
func (a *Assets) URL(name string) string {
	h, ok := a.hashes[name]
	if !ok {
		return ""
	}
	return a.prefix + name + "?v=" + h
}

// ServeHTTP serves a file named by the request path below the prefix
// (which the caller has already stripped). A request carrying the current
// hash may be cached for a year; any other is revalidated each time.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	h, ok := a.hashes[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == h {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+h+`"`)
	http.ServeFileFS(w, r, files, name)
}
