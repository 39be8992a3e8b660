package web

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes the JSON API (OpenAPI 3.1). A test holds it
// to the router and its examples to real answers.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the API's description; it needs no login, as it holds
// nothing of the cluster.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDocument)
}
