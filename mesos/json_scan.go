package mesos

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the byte-level JSON scanner under UnmarshalJSON. It
// follows RFC 8259 strictly. Like Mesos's parser (picojson) it allows 100
// nested levels and refuses unpaired surrogate escapes and raw control
// characters; unlike it, it refuses loose numbers such as 01 or 1., and it
// replaces invalid UTF-8 with U+FFFD where picojson copies the bytes.

func (d *decoder) syntaxError(msg string) error {
	return &SyntaxError{Offset: d.pos, Msg: msg}
}

func (d *decoder) eofError() error {
	return &SyntaxError{Offset: len(d.data), Msg: "unexpected end of JSON input"}
}

// peek skips white space and returns the next byte without consuming it.
func (d *decoder) peek() (byte, error) {
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if !isSpace(c) {
			return c, nil
		}
		d.pos++
	}
	return 0, d.eofError()
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.syntaxError(fmt.Sprintf("JSON nested deeper than %d levels", maxDepth))
	}
	return nil
}

// end checks that only white space follows the top-level value.
func (d *decoder) end() error {
	for ; d.pos < len(d.data); d.pos++ {
		if !isSpace(d.data[d.pos]) {
			return d.syntaxError("unexpected data after top-level value")
		}
	}
	return nil
}

// object walks the object at d.pos, calling member with each key; member
// must consume the value, which starts at d.pos.
func (d *decoder) object(member func(key []byte) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++ // '{'
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if c != '"' {
			return d.syntaxError("expected a string as object key")
		}
		key, err := d.readString()
		if err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		if c != ':' {
			return d.syntaxError("expected ':' after object key")
		}
		d.pos++
		if _, err := d.peek(); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		d.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			d.pos--
			return d.syntaxError("expected ',' or '}' after object value")
		}
		if c, err = d.peek(); err != nil {
			return err
		}
	}
	d.depth--
	return nil
}

// array walks the array at d.pos, calling elem for each element; elem must
// consume the element, which starts at d.pos.
func (d *decoder) array(elem func() error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++ // '['
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			d.pos--
			return d.syntaxError("expected ',' or ']' after array element")
		}
		if _, err = d.peek(); err != nil {
			return err
		}
	}
	d.depth--
	return nil
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.syntaxError("invalid literal, expected " + lit)
	}
	d.pos += len(lit)
	return nil
}

// readString reads the string at d.pos and returns its contents. The
// result aliases the input when the string holds no escapes and only valid
// UTF-8, and otherwise aliases d.scratch; either way it is only valid until
// the next string is read.
func (d *decoder) readString() ([]byte, error) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			return s, nil
		case c == '\\' || c < 0x20:
			return d.readStringSlow(start)
		case c < utf8.RuneSelf:
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return d.readStringSlow(start)
			}
			d.pos += size
		}
	}
	return nil, d.eofError()
}

// readStringSlow finishes a string that needs unescaping or repair; the
// bytes from start to d.pos are plain.
func (d *decoder) readStringSlow(start int) ([]byte, error) {
	b := append(d.scratch[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.scratch = b
			return b, nil
		case c == '\\':
			var err error
			if b, err = d.escape(b); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, d.syntaxError("control character in string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, d.data[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return nil, d.eofError()
}

// escape decodes the escape sequence at d.pos and appends it to b.
func (d *decoder) escape(b []byte) ([]byte, error) {
	if d.pos+1 >= len(d.data) {
		return nil, d.eofError()
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(b, c), nil
	case 'b':
		return append(b, '\b'), nil
	case 'f':
		return append(b, '\f'), nil
	case 'n':
		return append(b, '\n'), nil
	case 'r':
		return append(b, '\r'), nil
	case 't':
		return append(b, '\t'), nil
	case 'u':
		r, ok := hex4(d.data[d.pos:])
		if !ok {
			return nil, d.syntaxError("invalid \\u escape")
		}
		d.pos += 4
		if utf16.IsSurrogate(r) {
			// Only a high half followed by an escaped low half makes a
			// character; Mesos's parser refuses anything else.
			low := rune(-1)
			if d.pos+6 <= len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
				low, _ = hex4(d.data[d.pos+2:])
			}
			if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
				return nil, d.syntaxError("invalid surrogate pair in \\u escape")
			}
			d.pos += 6
		}
		return utf8.AppendRune(b, r), nil
	}
	d.pos--
	return nil, d.syntaxError("invalid escape in string")
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// readNumber reads the number at d.pos and returns its text.
func (d *decoder) readNumber() ([]byte, error) {
	start := d.pos
	n := numberLength(d.data[d.pos:])
	if n == 0 {
		return nil, d.syntaxError("invalid number")
	}
	d.pos += n
	return d.data[start:d.pos], nil
}

// numberLength returns the length of the JSON number at the start of s, or
// 0 when s does not start with one.
func numberLength(s []byte) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return 0
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return 0
		}
		i = j
	}
	return i
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// isNumber reports whether s is exactly one JSON number.
func isNumber(s []byte) bool {
	return len(s) > 0 && numberLength(s) == len(s)
}

// skipValue checks and skips the value at d.pos.
func (d *decoder) skipValue() error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{':
		return d.object(func([]byte) error { return d.skipValue() })
	case c == '[':
		return d.array(d.skipValue)
	case c == '"':
		_, err := d.readString()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.readNumber()
		return err
	}
	return d.syntaxError(fmt.Sprintf("invalid character %q looking for a value", c))
}

// validate checks that data is one well-formed JSON value.
func validate(data []byte) error {
	d := decoder{data: data}
	if err := d.skipValue(); err != nil {
		return err
	}
	return d.end()
}
