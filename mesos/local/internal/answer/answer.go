// Package answer writes HTTP answers the way libprocess does for the
// stand-in master and its agents: JSON bodies, with the ?jsonp= callback
// form every read-only Mesos endpoint offers.
package answer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
)

// jsonpCallback is a callback a browser can run: a dotted JavaScript name.
// libprocess echoes any text; echoing it unchecked into a script would let
// a link run code on whoever follows it, so other callbacks are refused.
var jsonpCallback = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// maxCallback bounds a callback's length.
const maxCallback = 256

// JSON answers v as application/json, or, when the request has ?jsonp=cb,
// as the script cb(v) in text/javascript, as libprocess's OK(JSON, jsonp)
// does (3rdparty/libprocess/src/http.cpp). A callback that is not a
// JavaScript name is answered 400.
func JSON(w http.ResponseWriter, r *http.Request, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "Failed to encode JSON.", http.StatusInternalServerError)
		return
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	ct := "application/json"
	if cb, ok := r.URL.Query()["jsonp"]; ok {
		if len(cb[0]) > maxCallback || !jsonpCallback.MatchString(cb[0]) {
			http.Error(w, "jsonp must be a JavaScript name", http.StatusBadRequest)
			return
		}
		ct = "text/javascript"
		body = append(append([]byte(cb[0]+"("), body...), ')')
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
