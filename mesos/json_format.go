package mesos

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file spells numbers and strings the way the master's JSON writer,
// rapidjson, does.

// appendDouble writes a finite f as rapidjson's Writer::Double does: the
// shortest digits that read back exactly, in plain notation with at least
// one fractional digit when the decimal exponent allows, otherwise as
// d.ddde[-]x. Go finds the shortest digits exactly where rapidjson's
// Grisu2 very occasionally gives one digit more.
func appendDouble(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	var digits [24]byte
	n := 0
	i := 0
	for ; s[i] != 'e'; i++ {
		if s[i] != '.' {
			digits[n] = s[i]
			n++
		}
	}
	exp := 0
	neg := s[i+1] == '-'
	for _, c := range s[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	d := digits[:n]
	k := exp - (n - 1) // value = d × 10^k
	kk := n + k        // 10^(kk-1) <= value < 10^kk
	switch {
	case k >= 0 && kk <= 21:
		b = append(b, d...)
		for j := 0; j < k; j++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	case kk > 0 && kk <= 21:
		b = append(b, d[:kk]...)
		b = append(b, '.')
		return append(b, d[kk:]...)
	case kk > -6 && kk <= 0:
		b = append(b, '0', '.')
		for j := 0; j < -kk; j++ {
			b = append(b, '0')
		}
		return append(b, d...)
	case n == 1:
		b = append(b, d[0], 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	default:
		b = append(b, d[0], '.')
		b = append(b, d[1:]...)
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	}
}

// noEscape marks the ASCII bytes a JSON string can carry as they are.
var noEscape = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789ABCDEF"

// appendQuoted writes s as a JSON string, escaping as rapidjson does
// (short escapes where JSON has them, \u00XX with upper-case hex for other
// control bytes, nothing else) and writing U+FFFD for invalid UTF-8.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if noEscape[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
