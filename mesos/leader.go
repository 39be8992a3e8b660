package mesos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// ParseMaster parses a master's base URL: scheme http or https and a host,
// port 5050 when none is given. Query and fragment are dropped; a path (a
// proxy's prefix) is kept without its trailing slash.
func ParseMaster(s string) (*url.URL, error) { return parseMaster(s) }

// Backoff returns the wait before the given attempt: exponential from lo,
// capped at hi, with jitter over its upper half so that clients restarted
// together do not retry in step. Attempt 0 waits between lo/2 and lo.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// RedirectTarget resolves a master's 307 Location (protocol-relative in
// Mesos: "//host:port/path") against base, keeping base's scheme. It
// allows only a host among masters or the detector's current leader, so
// credentials are never sent elsewhere. detector may be nil.
func RedirectTarget(ctx context.Context, base *url.URL, location string, masters []*url.URL, detector LeaderDetector) (*url.URL, error) {
	if location == "" {
		return nil, errors.New("redirect without a Location")
	}
	loc, err := url.Parse(location)
	if err != nil || loc.Host == "" {
		return nil, fmt.Errorf("redirect to unusable location %q", location)
	}
	next := &url.URL{Scheme: base.Scheme, Host: loc.Host}
	if next.Port() == "" {
		next.Host += ":5050"
	}
	for _, m := range masters {
		if m.Host == next.Host {
			return m, nil
		}
	}
	if detector != nil {
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if m, err := detector.Leader(lctx, ""); err == nil {
			if u, err := parseMaster(m.URL); err == nil && u.Host == next.Host {
				return u, nil
			}
		}
	}
	if next.Host == base.Host {
		return nil, fmt.Errorf("master %s redirects to itself", base.Host)
	}
	return nil, fmt.Errorf("redirect to %s refused: not a configured master (add it to --master)", next.Host)
}

// ReadAPIError reads a non-2xx answer to op into an *APIError, keeping at
// most 4 KiB of its body; it does not close the body.
func ReadAPIError(resp *http.Response, op string) *APIError { return apiError(resp, op) }
