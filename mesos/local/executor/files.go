package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/local/internal/answer"
)

// maxReadLength caps one /files/read answer at 16 pages of 4 KiB, as Mesos
// does on the usual page size.
const maxReadLength = 16 * 4096

// FilesHandler returns the /files endpoints of one agent, serving the
// sandboxes of the tasks launched on it with Mesos's semantics
// (mesos-api.md §6.12). It answers requests whose URL path is
//
//	/files/read?path=P&offset=N&length=N  {"data":"…","offset":N}
//	/files/browse?path=P                  [{"path","nlink","size","mtime","mode","uid","gid"}…] sorted by path
//	/files/download?path=P                the raw bytes
//
// (and the same with a .json suffix); mount it with http.StripPrefix when the
// agent lives under a prefix. P is a virtual path,
// /frameworks/<fid>/executors/<eid>/runs/latest[/sub/path], where latest is
// the executor's newest run; nothing outside a sandbox is ever served: a path
// or symlink that leads out of it is answered 400, an unknown one 404.
//
// read quirks kept from Mesos: without offset (or with -1) the answer is
// {"data":"","offset":<file size>}; without length (or with -1) it reads to
// EOF; one answer holds at most 65536 bytes; at or past EOF data is empty and
// offset is echoed. Unlike Mesos the JSON is always valid: a trailing
// incomplete UTF-8 sequence is held back for the next read (unless nothing
// else would be returned) and every byte that is not valid UTF-8 becomes
// '?', so the UTF-8 length of data always equals the bytes read and the next
// offset is offset plus that length. /files/download serves exact bytes.
//
// The handler is safe for concurrent use and holds no open file between
// requests.
func (x *Executor) FilesHandler(agentID string) http.Handler {
	return &filesHandler{x: x, agentID: agentID}
}

type filesHandler struct {
	x       *Executor
	agentID string
}

func (h *filesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "Expecting 'GET' or 'HEAD'.\n")
		return
	}
	switch strings.TrimSuffix(r.URL.Path, ".json") {
	case "/files/read":
		h.read(w, r)
	case "/files/browse":
		h.browse(w, r)
	case "/files/download":
		h.download(w, r)
	default:
		http.NotFound(w, r)
	}
}

type readResult struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

func (h *filesHandler) read(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	vpath := q.Get("path")
	if vpath == "" {
		plain(w, http.StatusBadRequest, "Expecting 'path=value' in query.\n")
		return
	}
	offset, ok := queryInt(w, q, "offset")
	if !ok {
		return
	}
	length, ok := queryInt(w, q, "length")
	if !ok {
		return
	}
	f, fi, ok := h.openFile(w, vpath, "read")
	if !ok {
		return
	}
	defer f.Close()
	size := fi.Size()
	switch {
	case offset == -1:
		answer.JSON(w, r, readResult{Offset: size})
		return
	case offset >= size || length == 0:
		answer.JSON(w, r, readResult{Offset: offset})
		return
	}
	n := size - offset
	if length > 0 && length < n {
		n = length
	}
	n = min(n, maxReadLength)
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		h.internal(w, vpath, err)
		return
	}
	answer.JSON(w, r, readResult{Data: jsonText(buf[:m]), Offset: offset})
}

// queryInt parses an optional offset or length, -1 when absent, and answers
// 400 as Mesos does when it is not a number or below -1.
func queryInt(w http.ResponseWriter, q map[string][]string, name string) (int64, bool) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return -1, true
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil {
		plain(w, http.StatusBadRequest,
			fmt.Sprintf("Failed to parse %s: Failed to convert '%s' to number.\n", name, vs[0]))
		return 0, false
	}
	if n < -1 {
		plain(w, http.StatusBadRequest, fmt.Sprintf("Negative %s provided: %d.\n", name, n))
		return 0, false
	}
	return n, true
}

func (h *filesHandler) browse(w http.ResponseWriter, r *http.Request) {
	vpath := r.URL.Query().Get("path")
	if vpath == "" {
		plain(w, http.StatusBadRequest, "Expecting 'path=value' in query.\n")
		return
	}
	dir, rel, ok := h.resolve(w, vpath)
	if !ok {
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		h.openFailed(w, vpath, err)
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		h.openFailed(w, vpath, err)
		return
	}
	defer f.Close()
	// Mesos lists nothing for a path that is not a directory.
	entries, _ := f.ReadDir(-1)
	base := strings.TrimRight(vpath, "/")
	list := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		// Stat follows a symlink only while it stays in the sandbox; one that
		// leads out is described as the link itself.
		info, err := root.Stat(path.Join(rel, e.Name()))
		if err != nil {
			if info, err = e.Info(); err != nil {
				continue
			}
		}
		list = append(list, h.x.fileInfo(base+"/"+e.Name(), info))
	}
	slices.SortFunc(list, func(a, b fileInfo) int { return strings.Compare(a.Path, b.Path) })
	answer.JSON(w, r, list)
}

func (h *filesHandler) download(w http.ResponseWriter, r *http.Request) {
	vpath := r.URL.Query().Get("path")
	if vpath == "" {
		plain(w, http.StatusBadRequest, "Expecting 'path=value' in query.\n")
		return
	}
	f, fi, ok := h.openFile(w, vpath, "download")
	if !ok {
		return
	}
	defer f.Close()
	name := path.Base(strings.TrimRight(vpath, "/"))
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// resolve maps a virtual path to the real run folder of its sandbox and the
// path inside it, answering the request itself when it cannot.
func (h *filesHandler) resolve(w http.ResponseWriter, vpath string) (dir, rel string, ok bool) {
	const prefix = "/frameworks/"
	p := strings.TrimRight(vpath, "/")
	if !strings.HasPrefix(p, prefix) {
		plain(w, http.StatusNotFound, "")
		return "", "", false
	}
	// fid, "executors", eid, "runs", "latest", rest
	parts := strings.SplitN(p[len(prefix):], "/", 6)
	if len(parts) < 5 || parts[1] != "executors" || parts[3] != "runs" || parts[4] != "latest" {
		plain(w, http.StatusNotFound, "")
		return "", "", false
	}
	dir, ok, err := h.x.sandboxDir(h.agentID, parts[0], parts[2])
	if !ok {
		plain(w, http.StatusNotFound, "")
		return "", "", false
	}
	if err != nil {
		h.internal(w, vpath, err)
		return "", "", false
	}
	rel = "."
	if len(parts) == 6 {
		rel = parts[5]
	}
	if !filepath.IsLocal(rel) {
		plain(w, http.StatusBadRequest, fmt.Sprintf("'%s' is inaccessible.\n", vpath))
		return "", "", false
	}
	return dir, rel, true
}

// open opens the file or directory at a virtual path. os.Root refuses, at
// the moment of opening, any path or symlink that leads out of the sandbox.
// openFile opens vpath as a regular file for verb ("read", "download"),
// answering the request itself when it cannot; the caller closes f.
func (h *filesHandler) openFile(w http.ResponseWriter, vpath, verb string) (f *os.File, fi os.FileInfo, ok bool) {
	f, ok = h.open(w, vpath)
	if !ok {
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		h.internal(w, vpath, err)
		return nil, nil, false
	}
	if fi.IsDir() {
		f.Close()
		plain(w, http.StatusBadRequest, "Cannot "+verb+" a directory.\n")
		return nil, nil, false
	}
	return f, fi, true
}

func (h *filesHandler) open(w http.ResponseWriter, vpath string) (*os.File, bool) {
	dir, rel, ok := h.resolve(w, vpath)
	if !ok {
		return nil, false
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		h.openFailed(w, vpath, err)
		return nil, false
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		h.openFailed(w, vpath, err)
		return nil, false
	}
	return f, true
}

func (h *filesHandler) openFailed(w http.ResponseWriter, vpath string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		plain(w, http.StatusNotFound, "")
		return
	}
	plain(w, http.StatusBadRequest, fmt.Sprintf("'%s' is inaccessible.\n", vpath))
}

func (h *filesHandler) internal(w http.ResponseWriter, vpath string, err error) {
	h.x.log.Warn("sandbox file unreadable", "agent_id", h.agentID, "path", vpath, "err", err)
	plain(w, http.StatusInternalServerError, "Failed to read file.\n")
}
