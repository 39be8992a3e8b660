package placement

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/offerdeck/offerdeck/mesos"
)

// Limits on the text ParseConstraints accepts, so that hostile input fails
// with an error instead of costing time or memory.
const (
	// MaxConstraints is the most constraints one text may hold.
	MaxConstraints = 32
	// MaxConstraintLen is the longest one constraint may be, in bytes,
	// after the whitespace around it is trimmed.
	MaxConstraintLen = 256
)

// maxInput bounds the whole text, blank lines and padding included.
const maxInput = 16 << 10

// Hostname is the pseudo-attribute that stands for the offer's hostname. A
// constraint on it reads the offer's hostname field, even when the agent
// also has an attribute of that name.
const Hostname = "hostname"

// Op is the operator of a Constraint.
type Op uint8

// The operators. Each has a compact form (==, !=, ~, !~), a word form
// (like, unlike, unique, group-by, max-per) or both, and the form
// Marathon's users know (attr:CLUSTER:value, attr:LIKE:regex ...).
const (
	OpEqual    Op = iota + 1 // attr==value: the attribute's text is value
	OpNotEqual               // attr!=value: the attribute is absent or not value
	OpMatch                  // attr~regex: the attribute's text matches regex anywhere
	OpNotMatch               // attr!~regex: the attribute is absent or does not match
	OpUnique                 // attr unique: at most one instance per value of attr
	OpLike                   // attr like regex: the whole text matches (Marathon's LIKE)
	OpUnlike                 // attr unlike regex: absent, or the whole text does not match
	OpGroupBy                // attr group-by [n]: instances spread evenly over the values
	OpMaxPer                 // attr max-per n: at most n instances per value of attr
)

// String returns the operator as the constraint syntax writes it: "==",
// "!=", "~", "!~", "unique", "like", "unlike", "group-by" or "max-per";
// "" for the zero Op.
func (op Op) String() string {
	switch op {
	case OpEqual:
		return "=="
	case OpNotEqual:
		return "!="
	case OpMatch:
		return "~"
	case OpNotMatch:
		return "!~"
	case OpUnique:
		return "unique"
	case OpLike:
		return "like"
	case OpUnlike:
		return "unlike"
	case OpGroupBy:
		return "group-by"
	case OpMaxPer:
		return "max-per"
	}
	return ""
}

// Static reports whether the operator reads only the agent, not where the
// spec's other instances run: a static constraint an agent fails, it fails
// for good.
func (op Op) Static() bool {
	switch op {
	case OpUnique, OpGroupBy, OpMaxPer:
		return false
	}
	return true
}

// Constraint is one parsed attribute constraint, such as rack==r2d2. Values
// come from ParseConstraints, which compiles regular expressions once; the
// zero Constraint is satisfied by every offer. A Constraint is immutable and
// safe for concurrent use.
type Constraint struct {
	attr  string
	op    Op
	value string
	n     int            // for OpGroupBy (0: as many values as are known) and OpMaxPer
	re    *regexp.Regexp // for OpMatch, OpNotMatch, OpLike and OpUnlike
}

// Attr returns the attribute the constraint reads, or Hostname.
func (c Constraint) Attr() string { return c.attr }

// Op returns the constraint's operator.
func (c Constraint) Op() Op { return c.op }

// Value returns the value or regular expression the attribute is compared
// with, the count of group-by and max-per as text ("" for group-by
// without one), or "" for OpUnique.
func (c Constraint) Value() string {
	if c.op == OpGroupBy || c.op == OpMaxPer {
		if c.n == 0 {
			return ""
		}
		return strconv.Itoa(c.n)
	}
	return c.value
}

// String returns the canonical form, which ParseConstraints reads back to
// an equal Constraint: "rack==r2d2", "pod~demo", "hostname unique",
// "rack like r[0-9]+", "rack max-per 2".
func (c Constraint) String() string {
	switch c.op {
	case 0:
		return ""
	case OpUnique:
		return c.attr + " unique"
	case OpLike, OpUnlike:
		return c.attr + " " + c.op.String() + " " + c.value
	case OpGroupBy, OpMaxPer:
		if c.n == 0 {
			return c.attr + " " + c.op.String()
		}
		return c.attr + " " + c.op.String() + " " + strconv.Itoa(c.n)
	}
	return c.attr + c.op.String() + c.value
}

// maxCount bounds the count of group-by and max-per.
const maxCount = 1000

// ConstraintError is a constraint ParseConstraints cannot read, with the
// position of the fault.
type ConstraintError struct {
	// Constraint is the constraint's text, trimmed.
	Constraint string
	// Column is where in Constraint the fault is, in characters from 1.
	Column int
	// Offset is the fault's byte offset in the whole text parsed.
	Offset int
	// Problem says what is wrong and what was expected.
	Problem string
}

// Error writes the constraint with a mark at the fault: constraint
// "rack====r2d2", character 7 (rack==‸==r2d2): a value may not start
// with "=".
func (e *ConstraintError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("constraint %q %s", abbrev(e.Constraint), e.Problem)
	}
	return fmt.Sprintf("constraint %q, character %d (%s): %s", abbrev(e.Constraint), e.Column, e.Marked(), e.Problem)
}

// Marked returns the constraint with "‸" at the fault, cut to a readable
// length around it.
func (e *ConstraintError) Marked() string {
	rs := []rune(e.Constraint)
	i := min(max(e.Column-1, 0), len(rs))
	from, to := max(i-24, 0), min(i+24, len(rs))
	out := string(rs[from:i]) + "‸" + string(rs[i:to])
	if from > 0 {
		out = "…" + out
	}
	if to < len(rs) {
		out += "…"
	}
	if strings.ContainsFunc(out, func(r rune) bool { return !unicode.IsPrint(r) }) {
		q := strconv.Quote(out)
		return q[1 : len(q)-1]
	}
	return out
}

// ParseConstraints parses constraints as a user types them: one or more
// separated by ";" or newlines, with any whitespace around names, operators
// and values. Blank constraints are skipped, so "" gives none. Each is:
//
//	attr==value     the attribute's text is value (Marathon: attr:CLUSTER:value, attr:IS:value)
//	attr!=value     the attribute is absent or is not value
//	attr~regex      the text matches regex anywhere (RE2; anchor with ^ and $)
//	attr!~regex     the attribute is absent or does not match
//	attr like re    the whole text matches re (Marathon: attr:LIKE:re)
//	attr unlike re  absent, or the whole text does not match (attr:UNLIKE:re)
//	attr unique     one instance per value (attr:UNIQUE)
//	attr group-by [n]  instances spread evenly over the attribute's values,
//	                   over n of them if n is given (attr:GROUP_BY[:n])
//	attr max-per n  at most n instances per value (attr:MAX_PER:n)
//
// The attribute "hostname" stands for the agent's hostname. Names are
// letters, digits and "_-./"; a value is the rest of the constraint with
// the whitespace around it trimmed, so it may hold "," "." ":" "=" or
// inner spaces, but not ";", a newline or another control character, and
// may not start with an operator's "=", "!" or "~". Marathon's operator
// words are read in any case. Attribute values are compared with the text
// mesos.AttributeText gives: "3" for SCALAR 3.0, "[1-3]" for RANGES.
//
// The error is a *ConstraintError that points at the fault.
func ParseConstraints(s string) ([]Constraint, error) {
	if len(s) > maxInput {
		return nil, fmt.Errorf("constraints are %d bytes, want at most %d", len(s), maxInput)
	}
	var cs []Constraint
	start := 0
	for start <= len(s) {
		end := strings.IndexFunc(s[start:], isSeparator)
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		raw := s[start:end]
		part := strings.TrimSpace(raw)
		off := start + strings.Index(raw, part)
		start = end + 1
		if part == "" {
			continue
		}
		if len(cs) == MaxConstraints {
			return nil, fmt.Errorf("more than %d constraints", MaxConstraints)
		}
		c, err := parseConstraint(part, off)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func isSeparator(r rune) bool { return r == ';' || r == '\n' }

const wantOp = "want ==, !=, ~, !~, like, unlike, unique, group-by or max-per"

// parser reads one constraint, knowing where it sits in the whole text.
type parser struct {
	s   string // the constraint, trimmed
	off int    // its byte offset in the whole text
}

// fail returns a ConstraintError at byte i of the constraint.
func (p parser) fail(i int, format string, args ...any) (Constraint, error) {
	i = min(max(i, 0), len(p.s))
	return Constraint{}, &ConstraintError{Constraint: p.s, Column: utf8.RuneCountInString(p.s[:i]) + 1, Offset: p.off + i,
		Problem: fmt.Sprintf(format, args...)}
}

func parseConstraint(s string, off int) (Constraint, error) {
	p := parser{s: s, off: off}
	if len(s) > MaxConstraintLen {
		return Constraint{}, &ConstraintError{Constraint: s, Offset: off,
			Problem: fmt.Sprintf("is %d bytes, want at most %d", len(s), MaxConstraintLen)}
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return Constraint{}, &ConstraintError{Constraint: strings.ToValidUTF8(s, "\uFFFD"), Column: utf8.RuneCountInString(s[:i]) + 1,
			Offset: off + i, Problem: "want UTF-8 text"}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }); i >= 0 {
		return p.fail(i, "a control character")
	}
	i := 0
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	c := Constraint{attr: s[:i]}
	if c.attr == "" {
		return p.fail(0, "want an attribute name (letters, digits and _-./) or hostname first")
	}
	at := skipSpace(s, i) // where the operator starts
	rest := s[at:]
	switch {
	case strings.HasPrefix(rest, "=="):
		return p.value(c, OpEqual, at+2)
	case strings.HasPrefix(rest, "!="):
		return p.value(c, OpNotEqual, at+2)
	case strings.HasPrefix(rest, "!~"):
		return p.value(c, OpNotMatch, at+2)
	case strings.HasPrefix(rest, "~"):
		return p.value(c, OpMatch, at+1)
	case strings.HasPrefix(rest, ":"):
		return p.marathon(c, at+1)
	case strings.HasPrefix(rest, "=~"):
		return p.fail(at, "=~ is not an operator: want ~ to match a regex")
	case strings.HasPrefix(rest, "="):
		return p.fail(at, "a single = is not an operator: want == to compare")
	case rest == "":
		return p.fail(at, "want an operator after %s: %s", c.attr, wantOp[len("want "):])
	case at == i: // no space between the name and what follows
		return p.fail(at, "%q is not an operator; %s", firstWord(rest), wantOp)
	}
	word := firstWord(rest)
	after := at + len(word)
	switch strings.ToLower(word) {
	case "unique":
		return p.end(Constraint{attr: c.attr, op: OpUnique}, after)
	case "like":
		return p.value(c, OpLike, after)
	case "unlike":
		return p.value(c, OpUnlike, after)
	case "group-by", "group_by":
		return p.count(c, OpGroupBy, after, false)
	case "max-per", "max_per":
		return p.count(c, OpMaxPer, after, true)
	}
	return p.fail(at, "%q is not an operator; %s", word, wantOp)
}

// marathon reads the operator and value of attr:OP[:value], from byte i.
func (p parser) marathon(c Constraint, i int) (Constraint, error) {
	word, _, hasVal := strings.Cut(p.s[i:], ":")
	op := strings.ToUpper(strings.TrimSpace(word))
	vi := i + len(word) + 1 // where the value starts
	need := func(o Op) (Constraint, error) {
		if !hasVal {
			return p.fail(len(p.s), "want a value: %s:%s:value", c.attr, op)
		}
		return p.value(c, o, vi)
	}
	switch op {
	case "CLUSTER", "IS":
		return need(OpEqual)
	case "LIKE":
		return need(OpLike)
	case "UNLIKE":
		return need(OpUnlike)
	case "UNIQUE":
		if hasVal {
			return p.fail(vi-1, "UNIQUE takes no value")
		}
		return Constraint{attr: c.attr, op: OpUnique}, nil
	case "GROUP_BY":
		if !hasVal {
			return Constraint{attr: c.attr, op: OpGroupBy}, nil
		}
		return p.count(c, OpGroupBy, vi, true)
	case "MAX_PER":
		if !hasVal {
			return p.fail(len(p.s), "want a count: %s:MAX_PER:n", c.attr)
		}
		return p.count(c, OpMaxPer, vi, true)
	case "":
		return p.fail(i, "want an operator after %q: UNIQUE, CLUSTER, IS, LIKE, UNLIKE, GROUP_BY or MAX_PER", c.attr+":")
	}
	return p.fail(skipSpace(p.s, i), "%q is not an operator; want UNIQUE, CLUSTER, IS, LIKE, UNLIKE, GROUP_BY or MAX_PER", strings.TrimSpace(word))
}

// value reads the value of op from byte i to the end.
func (p parser) value(c Constraint, op Op, i int) (Constraint, error) {
	c.op = op
	vi := skipSpace(p.s, i)
	c.value = strings.TrimSpace(p.s[vi:])
	if c.value == "" {
		return p.fail(len(p.s), "want a value after %s", op)
	}
	if j := strings.IndexFunc(c.value, unicode.IsControl); j >= 0 {
		return p.fail(vi+j, "a value may not hold a control character")
	}
	if strings.ContainsRune("=!~", rune(c.value[0])) {
		return p.fail(vi, "a value may not start with %q: one operator per constraint", c.value[:1])
	}
	if op == OpMatch || op == OpNotMatch || op == OpLike || op == OpUnlike {
		re, err := regexp.Compile(c.value)
		if err != nil {
			return p.regexFail(vi, c.value, err)
		}
		if op == OpLike || op == OpUnlike {
			// The whole text must match, as Marathon's LIKE does.
			re = regexp.MustCompile(`^(?:` + c.value + `)$`) // parsed above, so it parses
		}
		c.re = re
	}
	return c, nil
}

// regexFail points at the part of regular expression expr (at byte vi)
// that Go's parser refused.
func (p parser) regexFail(vi int, expr string, err error) (Constraint, error) {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return p.fail(vi, "invalid regex: %v", err)
	}
	at := vi
	if se.Expr != "" && se.Expr != expr {
		if j := strings.Index(expr, se.Expr); j >= 0 {
			at = vi + j
		}
	}
	if se.Expr == "" || se.Expr == expr {
		return p.fail(at, "invalid regex %q: %s", expr, se.Code)
	}
	return p.fail(at, "invalid regex %q: %s at %q", expr, se.Code, se.Expr)
}

// count reads the count of group-by or max-per from byte i to the end.
func (p parser) count(c Constraint, op Op, i int, required bool) (Constraint, error) {
	c.op = op
	ni := skipSpace(p.s, i)
	text := strings.TrimSpace(p.s[ni:])
	if text == "" {
		if required {
			return p.fail(len(p.s), "want a count after %s, such as %s %s 2", op, c.attr, op)
		}
		return c, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > maxCount {
		return p.fail(ni, "want a whole number from 1 to %d after %s, not %q", maxCount, op, text)
	}
	c.n = n
	return c, nil
}

// end checks that nothing follows a complete constraint at byte i.
func (p parser) end(c Constraint, i int) (Constraint, error) {
	if j := skipSpace(p.s, i); j < len(p.s) {
		return p.fail(j, "nothing may follow %s", c)
	}
	return c, nil
}

// skipSpace returns the index of the first non-space byte of s from i.
func skipSpace(s string, i int) int {
	return len(s) - len(strings.TrimLeftFunc(s[i:], unicode.IsSpace))
}

// firstWord returns s up to its first space.
func firstWord(s string) string {
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return s[:i]
	}
	return s
}

// isNameByte reports whether b may appear in an attribute name. Mesos
// forbids only ":" and ";" there; this keeps to the characters agents use
// in practice, which leaves the operators unambiguous.
func isNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == '-' || b == '.' || b == '/'
}

// abbrev shortens s for an error message, at a rune boundary.
func abbrev(s string) string {
	const keep = 32
	if len(s) <= keep {
		return s
	}
	i := keep
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// Check reports whether offer o satisfies c, given where the spec's other
// instances run (used, read only by unique, group-by and max-per). When it
// does not, reason says why, naming the constraint and what the agent has,
// for example "rack==r2d2 wanted, agent-3.demo is bb8" or "agent-3.demo
// has no attribute rack".
//
// A missing attribute fails ==, ~, like, unique, group-by and max-per, and
// satisfies != , !~ and unlike: an agent with no rack is not on rack c3po.
// Check allocates only to build a reason, and not at all for TEXT
// attributes that satisfy c.
func (c Constraint) Check(o *mesos.Offer, used Used) (reason string, ok bool) {
	if c.op == 0 {
		return "", true
	}
	host := agentName(o)
	value, found := attributeText(o, c.attr)
	if !found {
		if c.op == OpNotEqual || c.op == OpNotMatch || c.op == OpUnlike {
			return "", true
		}
		return host + " has no attribute " + c.attr, false
	}
	switch c.op {
	case OpEqual:
		ok = value == c.value
	case OpNotEqual:
		ok = value != c.value
	case OpMatch, OpLike:
		ok = c.re.MatchString(value)
	case OpNotMatch, OpUnlike:
		ok = !c.re.MatchString(value)
	case OpUnique:
		if used.Count(c.attr, value) == 0 {
			return "", true
		}
		if c.attr == Hostname {
			return "hostname unique: " + host + " already runs an instance", false
		}
		return c.attr + " unique: an instance already runs on " + c.attr + " " + value, false
	case OpMaxPer:
		n := used.Count(c.attr, value)
		if n < c.n {
			return "", true
		}
		return fmt.Sprintf("%s: %s %s already runs %s", c, c.attr, value, instances(n)), false
	case OpGroupBy:
		n := used.Count(c.attr, value)
		fewest, at := used.fewest(c.attr, c.n)
		if n <= fewest {
			return "", true
		}
		return fmt.Sprintf("%s: %s %s runs %s, %s", c, c.attr, value, instances(n), at), false
	}
	if ok {
		return "", true
	}
	if c.attr == Hostname {
		return c.String() + " wanted, this is " + host, false
	}
	return c.String() + " wanted, " + host + " is " + value, false
}

func instances(n int) string {
	if n == 1 {
		return "1 instance"
	}
	return strconv.Itoa(n) + " instances"
}

// attributeText returns the text of o's attribute name, as
// mesos.AttributeText writes it, or o's hostname for Hostname.
func attributeText(o *mesos.Offer, name string) (string, bool) {
	if name == Hostname {
		return o.GetHostname(), true
	}
	for _, a := range o.GetAttributes() {
		if a.GetName() == name {
			return mesos.AttributeText(a), true
		}
	}
	return "", false
}

// agentName names o's agent in reasons: its hostname, else its agent ID.
func agentName(o *mesos.Offer) string {
	if h := o.GetHostname(); h != "" {
		return h
	}
	if id := o.GetAgentId().GetValue(); id != "" {
		return "agent " + id
	}
	return "the agent"
}
