package mesos

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// AgentGet sends GET agentURL+pathQuery, such as an agent's
// /files/read?path=..., with the client's transport, so the TLS settings
// that reach the masters reach the agents too. The principal's credentials
// go along only when the agent shares a master's scheme, host and port, as
// the stand-in's simulated agents do; they are never sent to any other
// host. Redirects are not followed. The caller closes the response body.
func (c *Client) AgentGet(ctx context.Context, agentURL, pathQuery string) (*http.Response, error) {
	u, err := url.Parse(agentURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent %q: want http://host:port or https://host:port", agentURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+pathQuery, nil)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", u.Host, err)
	}
	if c.cfg.Principal != "" && c.isMaster(u) {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	resp, err := c.agents.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", u.Host, err)
	}
	return resp, nil
}

// isMaster reports whether u names a configured master or the one the
// client subscribed to (which a detector may have named).
func (c *Client) isMaster(u *url.URL) bool {
	same := func(m *url.URL) bool { return m.Scheme == u.Scheme && m.Host == u.Host }
	for _, m := range c.masters {
		if same(m) {
			return true
		}
	}
	if cur, err := url.Parse(c.Status().Master); err == nil && cur.Host != "" {
		return same(cur)
	}
	return false
}

// MasterGet sends GET path (such as /master/state) to the master the client
// is subscribed to, or else the first configured one, with the principal's
// credentials and the client's transport. Redirects are not followed. The
// caller closes the response body.
func (c *Client) MasterGet(ctx context.Context, path string) (*http.Response, error) {
	base := c.Status().Master
	if base == "" && len(c.masters) > 0 {
		base = c.masters[0].String()
	}
	if base == "" {
		return nil, fmt.Errorf("get %s: no master known yet", path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	if c.cfg.Principal != "" {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	resp, err := c.agents.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	return resp, nil
}
