package detect

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// defaultZooKeeperPort is the port used for a server given without one, as
// ZooKeeper's own clients do.
const defaultZooKeeperPort = "2181"

// zkURL is a parsed zk:// URL. auth is the user:password pair for
// ZooKeeper's digest scheme, empty when the URL carries no credentials.
type zkURL struct {
	servers []string
	path    string
	auth    string
}

// ParseURL parses a ZooKeeper URL of the form Mesos's --zk and --master flags
// take, zk://[user:password@]host1:2181,host2:2181/path, and returns its
// servers as host:port pairs and the path of the masters' group.
//
// A server given without a port gets 2181. The path must name a znode below
// the root: "/" and an empty path are errors, and trailing slashes are
// dropped. Credentials, when present, must be user:password with a
// non-empty user; ParseURL validates them but does not return them, so that
// they are not passed around or logged by accident. [NewZooKeeper] and
// [Announce] use them to authenticate with ZooKeeper's digest scheme. Error
// messages never contain the password.
func ParseURL(s string) (servers []string, path string, err error) {
	u, err := parseURL(s)
	if err != nil {
		return nil, "", err
	}
	return u.servers, u.path, nil
}

func parseURL(s string) (zkURL, error) {
	const scheme = "zk://"
	if !strings.HasPrefix(s, scheme) {
		return zkURL{}, errors.New("parse zookeeper url: must start with zk://, e.g. zk://host1:2181,host2:2181/mesos")
	}
	rest := s[len(scheme):]
	if strings.ContainsAny(rest, "?#") {
		return zkURL{}, errors.New("parse zookeeper url: query and fragment are not allowed")
	}
	authority, path, ok := strings.Cut(rest, "/")
	if !ok {
		return zkURL{}, errors.New("parse zookeeper url: missing path, e.g. zk://host:2181/mesos")
	}
	var u zkURL
	// Host names cannot contain '@', so the last one ends the credentials and
	// a password may contain '@'.
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		auth := authority[:i]
		authority = authority[i+1:]
		user, _, ok := strings.Cut(auth, ":")
		if !ok || user == "" {
			return zkURL{}, errors.New("parse zookeeper url: credentials must be user:password")
		}
		u.auth = auth
	}
	servers, err := parseServers(authority)
	if err != nil {
		return zkURL{}, fmt.Errorf("parse zookeeper url: %w", err)
	}
	u.servers = servers
	u.path, err = cleanPath("/" + path)
	if err != nil {
		return zkURL{}, fmt.Errorf("parse zookeeper url: %w", err)
	}
	return u, nil
}

func parseServers(list string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no servers, e.g. zk://host:2181/mesos")
	}
	var servers []string
	for s := range strings.SplitSeq(list, ",") {
		if s == "" {
			return nil, fmt.Errorf("empty server in %q", list)
		}
		host, port := s, defaultZooKeeperPort
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
			var err error
			host, port, err = net.SplitHostPort(s)
			if err != nil {
				return nil, fmt.Errorf("server %q: %w", s, err)
			}
		} else if strings.Contains(s, ":") {
			return nil, fmt.Errorf("server %q: put an IPv6 address in brackets, e.g. [::1]:2181", s)
		}
		if host == "" {
			return nil, fmt.Errorf("server %q: empty host", s)
		}
		if strings.ContainsAny(host, " /\\") {
			return nil, fmt.Errorf("server %q: invalid host", s)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("server %q: port must be a number from 1 to 65535", s)
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	return servers, nil
}

// cleanPath checks p against ZooKeeper's path rules and drops trailing
// slashes. It rejects the root, because the masters' group must have a
// folder of its own.
func cleanPath(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", errors.New(`path must name a znode below the root, not "/", e.g. zk://host:2181/mesos`)
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		switch seg {
		case "":
			return "", fmt.Errorf("path %q: empty segment", p)
		case ".", "..":
			return "", fmt.Errorf("path %q: relative segment %q", p, seg)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || r == 0xfffd {
				return "", fmt.Errorf("path %q: invalid character %q", p, r)
			}
		}
	}
	return p, nil
}
