package mesos

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file converts JSON scalars to protobuf values as stout does.

// scalar reads a string, number or boolean at d.pos as a value of fi.
// ok is false when the value is dropped (an unknown enum name).
func (d *decoder) scalar(fi *fieldInfo) (v protoreflect.Value, ok bool, err error) {
	switch c := d.data[d.pos]; {
	case c == '"':
		s, err := d.readString()
		if err != nil {
			return v, false, err
		}
		return fromString(fi, s)
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if err := d.literal(lit); err != nil {
			return v, false, err
		}
		if fi.kind != protoreflect.BoolKind {
			return v, false, notExpecting("boolean", fi)
		}
		return protoreflect.ValueOfBool(c == 't'), true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		tok, err := d.readNumber()
		if err != nil {
			return v, false, err
		}
		v, err := fromNumber(fi, tok)
		return v, err == nil, err
	}
	return v, false, d.syntaxError(fmt.Sprintf("invalid character %q looking for a value", d.data[d.pos]))
}

// fromString converts the contents of a JSON string to a value of fi.
func fromString(fi *fieldInfo, s []byte) (protoreflect.Value, bool, error) {
	switch fi.kind {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(string(s)), true, nil
	case protoreflect.BytesKind:
		b, err := decodeBase64(s)
		if err != nil {
			return protoreflect.Value{}, false, fmt.Errorf("Failed to base64 decode bytes field '%s': %v", fi.name, err)
		}
		return protoreflect.ValueOfBytes(b), true, nil
	case protoreflect.EnumKind:
		n, ok := fi.enumByName[string(s)]
		if !ok {
			if fi.required {
				return protoreflect.Value{}, false, fmt.Errorf("Failed to find enum for '%s'", clip(s))
			}
			return protoreflect.Value{}, false, nil
		}
		return protoreflect.ValueOfEnum(n), true, nil
	case protoreflect.BoolKind:
		switch string(trimSpace(s)) {
		case "true":
			return protoreflect.ValueOfBool(true), true, nil
		case "false":
			return protoreflect.ValueOfBool(false), true, nil
		}
		return protoreflect.Value{}, false, fmt.Errorf("Failed to parse '%s' as a JSON boolean for field '%s'", clip(s), fi.name)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return protoreflect.Value{}, false, notExpecting("string", fi)
	}
	// A number kind.
	t := trimSpace(s)
	if fi.kind == protoreflect.DoubleKind || fi.kind == protoreflect.FloatKind {
		switch string(t) {
		case "Infinity":
			return floatValue(fi, math.Inf(1)), true, nil
		case "-Infinity":
			return floatValue(fi, math.Inf(-1)), true, nil
		}
	}
	if !isNumber(t) {
		return protoreflect.Value{}, false, fmt.Errorf("Failed to parse '%s' as a JSON number for field '%s'", clip(s), fi.name)
	}
	v, err := fromNumber(fi, t)
	return v, err == nil, err
}

// fromNumber converts a well-formed JSON number to a value of fi.
func fromNumber(fi *fieldInfo, tok []byte) (protoreflect.Value, error) {
	switch fi.kind {
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		// The token is well formed, so the only possible error is a range
		// error, for which ParseFloat returns ±Inf or 0 as strtod does.
		f, _ := strconv.ParseFloat(string(tok), 64)
		return floatValue(fi, f), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := parseInt(tok, 32, true)
		if err != nil {
			return protoreflect.Value{}, conversionError(tok, "int32", fi, err)
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := parseInt(tok, 64, true)
		if err != nil {
			return protoreflect.Value{}, conversionError(tok, "int64", fi, err)
		}
		return protoreflect.ValueOfInt64(int64(n)), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := parseInt(tok, 32, false)
		if err != nil {
			return protoreflect.Value{}, conversionError(tok, "uint32", fi, err)
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := parseInt(tok, 64, false)
		if err != nil {
			return protoreflect.Value{}, conversionError(tok, "uint64", fi, err)
		}
		return protoreflect.ValueOfUint64(n), nil
	}
	return protoreflect.Value{}, notExpecting("number", fi)
}

func floatValue(fi *fieldInfo, f float64) protoreflect.Value {
	if fi.kind == protoreflect.FloatKind {
		return protoreflect.ValueOfFloat32(float32(f))
	}
	return protoreflect.ValueOfFloat64(f)
}

var (
	errOutOfRange  = errors.New("out of range")
	errNotInteger  = errors.New("not an integer")
	twoTo63        = math.Ldexp(1, 63)
	maxUint64Div10 = uint64(math.MaxUint64 / 10)
)

// parseInt converts a well-formed JSON number to an integer of the given
// size and signedness, returning its bits as a uint64.
func parseInt(tok []byte, bits int, signed bool) (uint64, error) {
	neg := tok[0] == '-'
	digits := tok
	if neg {
		digits = tok[1:]
	}
	var u uint64
	integral := true
	for _, c := range digits {
		if c < '0' || c > '9' {
			integral = false
			break
		}
		d := uint64(c - '0')
		if u > maxUint64Div10 || u*10 > math.MaxUint64-d {
			return 0, errOutOfRange
		}
		u = u*10 + d
	}
	if !integral {
		return parseIntFloat(tok, bits, signed)
	}
	switch {
	case !signed && neg && u != 0:
		return 0, errOutOfRange
	case !signed:
		if bits == 32 && u > math.MaxUint32 {
			return 0, errOutOfRange
		}
		return u, nil
	case neg:
		if u > uint64(1)<<(bits-1) {
			return 0, errOutOfRange
		}
		return -u, nil
	default:
		if u > uint64(1)<<(bits-1)-1 {
			return 0, errOutOfRange
		}
		return u, nil
	}
}

// parseIntFloat handles numbers written with a fraction or an exponent,
// such as 5050.0 or 1e3: they are accepted when their value is integral.
func parseIntFloat(tok []byte, bits int, signed bool) (uint64, error) {
	f, _ := strconv.ParseFloat(string(tok), 64)
	if math.IsInf(f, 0) {
		return 0, errOutOfRange
	}
	if f != math.Trunc(f) {
		return 0, errNotInteger
	}
	if signed {
		lim := math.Ldexp(1, bits-1)
		if f < -lim || f >= lim {
			return 0, errOutOfRange
		}
		return uint64(int64(f)), nil
	}
	if f < 0 || f >= math.Ldexp(1, bits) {
		return 0, errOutOfRange
	}
	if f >= twoTo63 {
		return uint64(f-twoTo63) + 1<<63, nil
	}
	return uint64(f), nil
}

func conversionError(tok []byte, typ string, fi *fieldInfo, err error) error {
	return fmt.Errorf("Failed to convert '%s' to %s for field '%s': %w", clip(tok), typ, fi.name, err)
}

func notExpecting(jsonType string, fi *fieldInfo) error {
	return fmt.Errorf("Not expecting a JSON %s for field '%s'", jsonType, fi.name)
}

// clip shortens hostile input quoted in an error message.
func clip(s []byte) string {
	const limit = 64
	if len(s) > limit {
		return string(s[:limit]) + "..."
	}
	return string(s)
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// base64Values maps each byte of the standard base64 alphabet to its
// value and every other byte to 0xFF.
var base64Values = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes standard base64 as leniently as stout: white space
// is skipped, the first '=' ends the input whatever follows, and a final
// partial group yields the whole bytes it holds.
func decodeBase64(s []byte) ([]byte, error) {
	out := make([]byte, 0, len(s)*3/4+2)
	var acc uint32
	n := 0
	for _, c := range s {
		if c == '=' {
			break
		}
		if c == ' ' || (c >= '\t' && c <= '\r') {
			continue
		}
		v := base64Values[c]
		if v == 0xFF {
			if c < 0x20 || c >= 0x7F {
				return nil, fmt.Errorf("Invalid character '\\x%02x'", c)
			}
			return nil, fmt.Errorf("Invalid character '%c'", c)
		}
		acc = acc<<6 | uint32(v)
		if n++; n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2: // 12 bits
		out = append(out, byte(acc>>4))
	case 3: // 18 bits
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out, nil
}
