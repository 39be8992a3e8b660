package web_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// fitCards are the agents of a page's fit map: hostname -> data-fit and
// what its mark says on hover and focus.
func fitCards(t *testing.T, doc *html.Node) map[string][2]string {
	t.Helper()
	m := byID(doc, "fit-map")
	if m == nil {
		t.Fatal("no #fit-map")
	}
	out := map[string][2]string{}
	for _, li := range findAll(m, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "class") == "rack-agent" }) {
		host := attr(find(li, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "h4" }), "title")
		why := find(li, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "class") == "fit-why" })
		c := [2]string{attr(li, "data-fit"), ""}
		if why != nil {
			c[1] = text(why)
		}
		out[host] = c
	}
	return out
}

// TestFitMapSaysWhereASpecFits: the preview's fit map marks every agent
// with whether one instance fits its held offers, and why not, the same
// with and without the client script; the board's shared regions carry
// no marks.
func TestFitMapSaysWhereASpecFits(t *testing.T) {
	st := newStack(t)
	const spec = "cpus=0.1&mem=900"
	for _, path := range []string{"/launch/preview?" + spec, "/launch?preview=1&" + spec} {
		doc, _, _ := st.page(t, path, "It fits 1 of the 3 agents with offers held.")
		got := fitCards(t, doc)
		if len(got) != 3 {
			t.Fatalf("GET %s: fit map has %d agents, want 3: %v", path, len(got), got)
		}
		for _, host := range []string{"agent-1.demo", "agent-2.demo"} {
			if c := got[host]; c[0] != "no" || c[1] != "needs mem 900, "+host+" has 496" {
				t.Errorf("GET %s: %s = %q, want no fit: needs mem 900, %s has 496", path, host, c, host)
			}
		}
		if c := got["agent-3.demo"]; c[0] != "yes" || !strings.HasPrefix(c[1], "held now: cpus 4, mem 992 MB") {
			t.Errorf("GET %s: agent-3.demo = %q, want a fit with what it holds", path, c)
		}
	}
	if doc, _, _ := st.page(t, "/launch?preview=1&"+spec, "It fits"); attr(byID(doc, "mem"), "value") != "900" {
		t.Errorf("the previewed form lost what was typed: mem = %q", attr(byID(doc, "mem"), "value"))
	}

	doc, _, _ := st.page(t, "/launch/preview?mem=32&constraints=rack%3D%3D%3D", "constraints")
	if s := text(byID(doc, "fit-summary")); !strings.Contains(s, "Nothing is marked until the constraints read") {
		t.Errorf("fit summary with a bad constraint = %q", s)
	}
	if c := fitCards(t, doc); c["agent-1.demo"][0] != "" {
		t.Errorf("agent-1.demo marked %q under a constraint that does not parse", c["agent-1.demo"][0])
	}

	_, body := get(t, "GET", st.srv.URL+"/board")
	if strings.Contains(body, "data-fit") || strings.Contains(body, "fit-mark") {
		t.Error("the board's shared regions carry fit marks")
	}
}
