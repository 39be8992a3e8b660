package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// openAPI is the served document, decoded.
type openAPI struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]any             `json:"schemas"`
		Responses map[string]openAPIResponse `json:"responses"`
		Other     map[string]map[string]any  `json:"-"`
	} `json:"components"`
}

type openAPIOperation struct {
	RequestBody *struct {
		Content map[string]struct {
			Example any `json:"example"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]openAPIResponse `json:"responses"`
}

type openAPIResponse struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema  any `json:"schema"`
		Example any `json:"example"`
	} `json:"content"`
}

func (doc *openAPI) operation(t *testing.T, method, path string) openAPIOperation {
	t.Helper()
	var op openAPIOperation
	raw, ok := doc.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Fatalf("the document has no %s %s", method, path)
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return op
}

// response resolves a response's reference.
func (doc *openAPI) response(r openAPIResponse) openAPIResponse {
	if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
		return doc.Components.Responses[name]
	}
	return r
}

// check reports how v breaks schema: the subset of JSON Schema the
// document uses ($ref, type, properties, required, additionalProperties,
// items, enum, format date-time).
func (doc *openAPI) check(v any, schema any, at string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		return doc.check(v, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], at)
	}
	if branches, ok := s["oneOf"].([]any); ok {
		for _, b := range branches {
			if len(doc.check(v, b, at)) == 0 {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %v fits none of oneOf", at, v)}
	}
	var errs []string
	if types := typesOf(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	if str, ok := v.(string); ok && s["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, str))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, name := range anyStrings(s["required"]) {
			if _, ok := v[name]; !ok {
				errs = append(errs, fmt.Sprintf("%s: %s is missing", at, name))
			}
		}
		for name, val := range v {
			switch p, ok := props[name]; {
			case ok:
				errs = append(errs, doc.check(val, p, at+"."+name)...)
			case s["additionalProperties"] == false:
				errs = append(errs, fmt.Sprintf("%s: %s is not in the schema", at, name))
			case s["additionalProperties"] != nil:
				errs = append(errs, doc.check(val, s["additionalProperties"], at+"."+name)...)
			}
		}
	case []any:
		for i, item := range v {
			errs = append(errs, doc.check(item, s["items"], at+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return errs
}

func typesOf(t any) []string {
	if s, ok := t.(string); ok {
		return []string{s}
	}
	return anyStrings(t)
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TestOpenAPIMatchesRouter: every API route is in the document and every
// operation of the document is a route.
func TestOpenAPIMatchesRouter(t *testing.T) {
	st := newAPIStack(t)
	var doc openAPI
	a := st.call(t, "", "GET", "/openapi.json", nil)
	a.json(t, &doc)
	if a.status != http.StatusOK || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("GET /openapi.json = %d, openapi %q", a.status, doc.OpenAPI)
	}
	var routes, documented []string
	chi.Walk(st.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if p, ok := strings.CutPrefix(route, apiBase); ok && method != http.MethodHead {
			routes = append(routes, method+" "+p)
		}
		return nil
	})
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if !slices.Equal(routes, documented) {
		t.Errorf("routes and document differ:\n routes:     %v\n documented: %v", routes, documented)
	}
}

// TestOpenAPIExamples holds the document to real answers: its examples
// fit its schemas; its request examples are sent as they are and work;
// every answer the API gives (each documented success, and errors) fits
// the schema the document gives for its status; and every documented
// success is seen.
func TestOpenAPIExamples(t *testing.T) {
	st := newAPIStack(t)
	var doc openAPI
	st.call(t, "", "GET", "/openapi.json", nil).json(t, &doc)

	// The examples fit the schemas.
	for path, ops := range doc.Paths {
		for method := range ops {
			op := doc.operation(t, method, path)
			for code, r := range op.Responses {
				for ct, c := range doc.response(r).Content {
					if c.Example != nil && strings.HasSuffix(ct, "json") {
						for _, e := range doc.check(c.Example, c.Schema, method+" "+path+" "+code+" example") {
							t.Error(e)
						}
					}
				}
			}
		}
	}

	// Real answers, by operation and status.
	seen := map[string]bool{}
	answer := func(token, method, path, concrete string, body any, want int, header ...string) apiResponse {
		t.Helper()
		a := st.call(t, token, method, concrete, body, header...)
		if a.status != want {
			t.Fatalf("%s %s = %d %s, want %d", method, concrete, a.status, a.body, want)
		}
		code := strconv.Itoa(a.status)
		op := doc.operation(t, method, path)
		r, ok := op.Responses[code]
		if !ok {
			t.Errorf("%s %s answered %d, which the document does not list", method, path, a.status)
			return a
		}
		seen[method+" "+path+" "+code] = true
		ct := a.header.Get("Content-Type")
		c, ok := doc.response(r).Content[ct]
		if !ok {
			t.Errorf("%s %s %d is %s, which the document does not list", method, path, a.status, ct)
			return a
		}
		if strings.HasSuffix(ct, "json") {
			var v any
			a.json(t, &v)
			for _, e := range doc.check(v, c.Schema, method+" "+path+" "+code) {
				t.Errorf("real answer: %s\n%s", e, a.body)
			}
		}
		return a
	}
	example := func(method, path string) any {
		op := doc.operation(t, method, path)
		if op.RequestBody == nil || op.RequestBody.Content["application/json"].Example == nil {
			t.Fatalf("%s %s has no request example", method, path)
		}
		return op.RequestBody.Content["application/json"].Example
	}

	answer("", "GET", "/openapi.json", "/openapi.json", nil, 200)
	events := st.openEvents(t, "/events", "")
	answer(viewerToken, "GET", "/status", "/status", nil, 200)
	var offers struct{ Offers []struct{ ID string } }
	answer(viewerToken, "GET", "/offers", "/offers", nil, 200).json(t, &offers)
	answer(viewerToken, "GET", "/agents", "/agents", nil, 200)
	answer(viewerToken, "GET", "/cluster", "/cluster", nil, 200)

	var res result
	answer(operatorToken, "POST", "/launch", "/launch", example("POST", "/launch"), 202).json(t, &res)
	hello := res.TaskIDs[0]
	st.waitTask(t, hello, "TASK_FINISHED")
	answer(viewerToken, "GET", "/tasks", "/tasks", nil, 200)
	answer(viewerToken, "GET", "/tasks/{id}", "/tasks/"+hello, nil, 200)
	answer(viewerToken, "GET", "/tasks/{id}/output", "/tasks/"+hello+"/output", nil, 200)
	answer(operatorToken, "GET", "/events", "/events?task="+hello, nil, 200)

	offers.Offers = offers.Offers[:0]
	st.call(t, viewerToken, "GET", "/offers", nil).json(t, &offers)
	answer(operatorToken, "POST", "/offers/{id}/accept", "/offers/"+offers.Offers[0].ID+"/accept", example("POST", "/offers/{id}/accept"), 202)
	answer(operatorToken, "POST", "/offers/{id}/decline", "/offers/"+offers.Offers[1].ID+"/decline", example("POST", "/offers/{id}/decline"), 200)

	// The accept and the decline took the offers held: the sleep waits
	// for the next one, to be placed at once.
	waitFor(t, "an offer for the sleep", func() bool {
		st.call(t, viewerToken, "GET", "/offers", nil).json(t, &offers)
		return len(offers.Offers) > 0
	})
	answer(operatorToken, "POST", "/launch", "/launch", map[string]any{"name": "nap", "command": "sleep 600", "cpus": 0.1, "mem": 16}, 202).json(t, &res)
	st.waitTask(t, res.TaskIDs[0], "TASK_RUNNING")
	answer(operatorToken, "POST", "/tasks/{id}/kill", "/tasks/"+res.TaskIDs[0]+"/kill", example("POST", "/tasks/{id}/kill"), 202)

	answer(operatorToken, "POST", "/launch", "/launch", map[string]any{"name": "huge", "command": "true", "cpus": 64, "mem": 16}, 422)
	answer(operatorToken, "POST", "/launch", "/launch", map[string]any{"name": "huge", "command": "true", "cpus": 64, "mem": 16, "wait": true}, 202)
	var queue struct{ Queue []struct{ ID string } }
	answer(viewerToken, "GET", "/queue", "/queue", nil, 200).json(t, &queue)
	answer(operatorToken, "DELETE", "/queue/{id}", "/queue/"+queue.Queue[0].ID, nil, 200)

	answer(operatorToken, "POST", "/reconcile", "/reconcile", nil, 202)
	answer(operatorToken, "POST", "/suppress", "/suppress", nil, 200)
	answer(operatorToken, "POST", "/revive", "/revive", nil, 200)
	answer(viewerToken, "GET", "/audit", "/audit?limit=1", nil, 200)

	// Errors are problems of the statuses documented.
	answer(operatorToken, "POST", "/launch", "/launch", map[string]any{"name": "a/b", "cpus": -1, "command": "true"}, 400)
	answer(operatorToken, "POST", "/launch", "/launch", "x=1", 415, "Content-Type", "application/x-www-form-urlencoded")
	answer("", "GET", "/tasks", "/tasks", nil, 401)
	answer(viewerToken, "POST", "/revive", "/revive", nil, 403)
	answer(viewerToken, "GET", "/tasks/{id}", "/tasks/nope", nil, 404)
	answer(operatorToken, "POST", "/tasks/{id}/kill", "/tasks/"+hello+"/kill", nil, 409)
	answer(operatorToken, "POST", "/offers/{id}/decline", "/offers/gone/decline", nil, 404)
	answer(viewerToken, "GET", "/audit", "/audit?limit=0", nil, 400)

	// The events of all that fit the schemas the document names for them.
	var eventSchemas struct {
		Events map[string]any `json:"x-events"`
	}
	if err := json.Unmarshal(doc.Paths["/events"]["get"], &eventSchemas); err != nil || len(eventSchemas.Events) == 0 {
		t.Fatalf("GET /events documents no event schemas (x-events): %v", err)
	}
	types := map[string]bool{}
	events.until(t, "the revive", func(e sseEvent) bool {
		types[e.Type] = true
		var v any
		if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
			t.Fatalf("event %s: %v", e.Type, err)
		}
		schema, ok := eventSchemas.Events[e.Type]
		if !ok {
			t.Fatalf("event type %s is not documented", e.Type)
		}
		for _, err := range doc.check(v, schema, "event "+e.Type) {
			t.Errorf("%s\n%s", err, e.Data)
		}
		return e.Type == "connection" && strings.Contains(e.Data, `"suppressed":false`)
	})
	for _, want := range []string{"task", "queue", "audit", "connection", "offer-removed", "master-event"} {
		if !types[want] {
			t.Errorf("no %s event was seen", want)
		}
	}

	for path, ops := range doc.Paths {
		for method := range ops {
			for code := range doc.operation(t, method, path).Responses {
				if code[0] == '2' && !seen[strings.ToUpper(method)+" "+path+" "+code] {
					t.Errorf("%s %s %s is documented but no test saw it", strings.ToUpper(method), path, code)
				}
			}
		}
	}
}
