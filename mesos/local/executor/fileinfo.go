package executor

import (
	"io"
	"io/fs"
	"net/http"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

// fileInfo is one /files/browse entry, Mesos's model(FileInfo).
type fileInfo struct {
	Path  string `json:"path"`
	Nlink uint64 `json:"nlink"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"` // seconds since the epoch
	Mode  string `json:"mode"`  // as ls -l shows it
	UID   string `json:"uid"`   // user name, or the number when unknown
	GID   string `json:"gid"`   // group name, or the number when unknown
}

func (x *Executor) fileInfo(vpath string, fi fs.FileInfo) fileInfo {
	info := fileInfo{
		Path:  vpath,
		Nlink: 1,
		Size:  fi.Size(),
		Mtime: fi.ModTime().Unix(),
		Mode:  lsMode(fi.Mode()),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		info.Nlink = uint64(st.Nlink)
		info.UID = x.owner(false, st.Uid)
		info.GID = x.owner(true, st.Gid)
	}
	return info
}

// lsMode renders a mode as ls -l does, such as -rw-r--r-- or drwxr-xr-x.
func lsMode(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m&fs.ModeDir != 0:
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(set bool, i int, lower byte) {
		if !set {
			return
		}
		if b[i] == '-' {
			b[i] = lower - 'a' + 'A'
		} else {
			b[i] = lower
		}
	}
	special(m&fs.ModeSetuid != 0, 3, 's')
	special(m&fs.ModeSetgid != 0, 6, 's')
	special(m&fs.ModeSticky != 0, 9, 't')
	return string(b)
}

type ownerKey struct {
	group bool
	id    uint32
}

// owner returns the name of a user or group id, remembering it.
func (x *Executor) owner(group bool, id uint32) string {
	k := ownerKey{group, id}
	x.ownersMu.Lock()
	name, ok := x.owners[k]
	x.ownersMu.Unlock()
	if ok {
		return name
	}
	s := strconv.FormatUint(uint64(id), 10)
	name = s
	if group {
		if g, err := user.LookupGroupId(s); err == nil {
			name = g.Name
		}
	} else if u, err := user.LookupId(s); err == nil {
		name = u.Username
	}
	x.ownersMu.Lock()
	x.owners[k] = name
	x.ownersMu.Unlock()
	return name
}

// jsonText turns file bytes into text that encodes as valid JSON while
// keeping one byte of text per byte of file: a trailing incomplete UTF-8
// sequence is dropped (the next read starts with it) unless nothing else is
// left, and every other byte that is not valid UTF-8 becomes '?'.
func jsonText(b []byte) string {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if i > 0 && !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	s.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			s.WriteByte('?')
		} else {
			s.Write(b[:n])
		}
		b = b[n:]
	}
	return s.String()
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
