package mesos

import (
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
)

// TextAttribute returns a TEXT attribute, as an agent started with
// --attributes=name:value reports it when value is not a number or a range.
func TextAttribute(name, value string) *Attribute {
	return &Attribute{
		Name: proto.String(name),
		Type: Value_TEXT.Enum(),
		Text: &Value_Text{Value: proto.String(value)},
	}
}

// AttributeText returns the value of a in the form an agent's --attributes
// flag takes and Mesos prints it: "r2d2" or "demo,dev" for TEXT, "3" or
// "0.5" for SCALAR (at most three decimals, as Mesos keeps them), "[1-3]" or
// "[1-3, 5-7]" for RANGES, and "{a, b}" for SET.
func AttributeText(a *Attribute) string {
	switch a.GetType() {
	case Value_SCALAR:
		v := math.Round(a.GetScalar().GetValue()*1000) / 1000
		return strconv.FormatFloat(v, 'g', 15, 64)
	case Value_RANGES:
		var b strings.Builder
		b.WriteByte('[')
		for i, rg := range a.GetRanges().GetRange() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatUint(rg.GetBegin(), 10))
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(rg.GetEnd(), 10))
		}
		b.WriteByte(']')
		return b.String()
	case Value_SET:
		return "{" + strings.Join(a.GetSet().GetItem(), ", ") + "}"
	default:
		return a.GetText().GetValue()
	}
}

// AttributeString returns a as name:value, for example "rack:r2d2", the
// way a human writes it in an agent's --attributes flag.
func AttributeString(a *Attribute) string {
	return a.GetName() + ":" + AttributeText(a)
}
