package placement

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
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

// The operators, written as in the constraint syntax.
const (
	OpEqual    Op = iota + 1 // attr==value: the attribute's text is value
	OpNotEqual               // attr!=value: the attribute is absent or not value
	OpMatch                  // attr~regex: the attribute's text matches regex anywhere
	OpNotMatch               // attr!~regex: the attribute is absent or does not match
	OpUnique                 // attr unique: at most one instance per value of attr
)

// String returns the operator as the constraint syntax writes it: "==",
// "!=", "~", "!~" or "unique"; "" for the zero Op.
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
	}
	return ""
}

// Constraint is one parsed attribute constraint, such as rack==r2d2. Values
// come from ParseConstraints, which compiles regular expressions once; the
// zero Constraint is satisfied by every offer. A Constraint is immutable and
// safe for concurrent use.
type Constraint struct {
	attr  string
	op    Op
	value string
	re    *regexp.Regexp // for OpMatch and OpNotMatch
}

// Attr returns the attribute the constraint reads, or Hostname.
func (c Constraint) Attr() string { return c.attr }

// Op returns the constraint's operator.
func (c Constraint) Op() Op { return c.op }

// Value returns the value or regular expression the attribute is compared
// with; "" for OpUnique.
func (c Constraint) Value() string { return c.value }

// String returns the canonical form, which ParseConstraints reads back to
// an equal Constraint: "rack==r2d2", "pod~demo", "hostname unique".
func (c Constraint) String() string {
	switch c.op {
	case 0:
		return ""
	case OpUnique:
		return c.attr + " unique"
	}
	return c.attr + c.op.String() + c.value
}

// ParseConstraints parses constraints as a user types them: one or more
// separated by ";" or newlines, with any whitespace around names, operators
// and values. Each is attr==value, attr!=value, attr~regex, attr!~regex (RE2
// syntax, matching anywhere in the attribute's text unless anchored with ^
// and $) or attr unique. Names are letters, digits and "_-./"; a value is
// the rest of the constraint with the whitespace around it trimmed, so it
// may hold "," "." ":" "=" or inner spaces, but not ";", a newline or
// another control character. Blank constraints are skipped, so "" gives
// none. Attribute values are compared with the text mesos.AttributeText
// gives: "3" for SCALAR 3.0, "[1-3]" for RANGES.
//
// The error quotes the offending constraint and says what was expected.
func ParseConstraints(s string) ([]Constraint, error) {
	if len(s) > maxInput {
		return nil, fmt.Errorf("constraints are %d bytes, want at most %d", len(s), maxInput)
	}
	var cs []Constraint
	for part := range strings.FieldsFuncSeq(s, isSeparator) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if len(cs) == MaxConstraints {
			return nil, fmt.Errorf("more than %d constraints", MaxConstraints)
		}
		c, err := parseConstraint(part)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func isSeparator(r rune) bool { return r == ';' || r == '\n' }

const wantSyntax = "want attr==value, attr!=value, attr~regex, attr!~regex or attr unique"

func parseConstraint(s string) (Constraint, error) {
	if len(s) > MaxConstraintLen {
		return Constraint{}, fmt.Errorf("constraint %q is %d bytes, want at most %d", abbrev(s), len(s), MaxConstraintLen)
	}
	if !utf8.ValidString(s) {
		return Constraint{}, fmt.Errorf("constraint %q: want UTF-8 text", s)
	}
	i := 0
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	c := Constraint{attr: s[:i]}
	rest := strings.TrimLeftFunc(s[i:], unicode.IsSpace)
	switch {
	case c.attr == "":
		return Constraint{}, fmt.Errorf("constraint %q: %s", s, wantSyntax)
	case strings.HasPrefix(rest, "=="):
		c.op, rest = OpEqual, rest[2:]
	case strings.HasPrefix(rest, "!="):
		c.op, rest = OpNotEqual, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		c.op, rest = OpNotMatch, rest[2:]
	case strings.HasPrefix(rest, "~"):
		c.op, rest = OpMatch, rest[1:]
	case rest == "unique": // the name stopped at whitespace: "unique" is all name bytes
		c.op = OpUnique
		return c, nil
	default:
		return Constraint{}, fmt.Errorf("constraint %q: %s", s, wantSyntax)
	}
	c.value = strings.TrimSpace(rest)
	if c.value == "" {
		return Constraint{}, fmt.Errorf("constraint %q: want a value after %s", s, c.op)
	}
	if strings.IndexFunc(c.value, unicode.IsControl) >= 0 {
		return Constraint{}, fmt.Errorf("constraint %q: value has a control character", s)
	}
	if c.op == OpMatch || c.op == OpNotMatch {
		re, err := regexp.Compile(c.value)
		if err != nil {
			return Constraint{}, fmt.Errorf("constraint %q: invalid regex %q: %s", s, c.value, regexProblem(err, c.value))
		}
		c.re = re
	}
	return c, nil
}

// isNameByte reports whether b may appear in an attribute name. Mesos
// forbids only ":" and ";" there; this keeps to the characters agents use
// in practice, which leaves the operators unambiguous.
func isNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == '-' || b == '.' || b == '/'
}

// regexProblem says what is wrong with a regular expression without the
// "error parsing regexp" preamble, pointing at the part at fault when it is
// not the whole expression.
func regexProblem(err error, expr string) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	if se.Expr == "" || se.Expr == expr {
		return string(se.Code)
	}
	return fmt.Sprintf("%s at %q", se.Code, se.Expr)
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

// Check reports whether offer o satisfies c, given the attribute values
// that the spec's other instances already occupy (used, read only by
// unique constraints). When it does not, reason says why, naming the
// constraint and what the agent has, for example "rack==r2d2 wanted,
// agent-3.demo is bb8" or "agent-3.demo has no attribute rack".
//
// A missing attribute fails ==, ~ and unique, and satisfies != and !~: an
// agent with no rack is not on rack c3po. Check allocates only to build a
// reason, and not at all for TEXT attributes that satisfy c.
func (c Constraint) Check(o *mesos.Offer, used Used) (reason string, ok bool) {
	if c.op == 0 {
		return "", true
	}
	host := agentName(o)
	value, found := attributeText(o, c.attr)
	if !found {
		if c.op == OpNotEqual || c.op == OpNotMatch {
			return "", true
		}
		return host + " has no attribute " + c.attr, false
	}
	switch c.op {
	case OpEqual:
		ok = value == c.value
	case OpNotEqual:
		ok = value != c.value
	case OpMatch:
		ok = c.re.MatchString(value)
	case OpNotMatch:
		ok = !c.re.MatchString(value)
	case OpUnique:
		if !used.Has(c.attr, value) {
			return "", true
		}
		if c.attr == Hostname {
			return "hostname unique: " + host + " already runs an instance", false
		}
		return c.attr + " unique: an instance already runs on " + c.attr + " " + value, false
	}
	if ok {
		return "", true
	}
	if c.attr == Hostname {
		return c.String() + " wanted, this is " + host, false
	}
	return c.String() + " wanted, " + host + " is " + value, false
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
