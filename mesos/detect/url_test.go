package detect_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/detect"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		wantServers []string
		wantPath    string
	}{
		{"one server", "zk://zk1:2181/mesos", []string{"zk1:2181"}, "/mesos"},
		{"several servers", "zk://zk1:2181,zk2:2182,10.0.0.3:2183/mesos",
			[]string{"zk1:2181", "zk2:2182", "10.0.0.3:2183"}, "/mesos"},
		{"default port", "zk://zk1,zk2:2182/mesos", []string{"zk1:2181", "zk2:2182"}, "/mesos"},
		{"ipv6", "zk://[::1]:2181,[fe80::1]/mesos", []string{"[::1]:2181", "[fe80::1]:2181"}, "/mesos"},
		{"nested path", "zk://zk1:2181/prod/mesos", []string{"zk1:2181"}, "/prod/mesos"},
		{"trailing slash", "zk://zk1:2181/mesos/", []string{"zk1:2181"}, "/mesos"},
		{"credentials", "zk://user:secret@zk1:2181/mesos", []string{"zk1:2181"}, "/mesos"},
		{"at sign in password", "zk://user:p@ss@zk1:2181/mesos", []string{"zk1:2181"}, "/mesos"},
		{"empty password", "zk://user:@zk1:2181/mesos", []string{"zk1:2181"}, "/mesos"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			servers, path, err := detect.ParseURL(tc.url)
			if err != nil {
				t.Fatalf("ParseURL(%q) error = %v", tc.url, err)
			}
			if !slices.Equal(servers, tc.wantServers) {
				t.Errorf("ParseURL(%q) servers = %q, want %q", tc.url, servers, tc.wantServers)
			}
			if path != tc.wantPath {
				t.Errorf("ParseURL(%q) path = %q, want %q", tc.url, path, tc.wantPath)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr string // a part of the message that names the problem
	}{
		{"empty", "", "must start with zk://"},
		{"http scheme", "http://zk1:2181/mesos", "must start with zk://"},
		{"upper-case scheme", "ZK://zk1:2181/mesos", "must start with zk://"},
		{"no path", "zk://zk1:2181", "missing path"},
		{"root path", "zk://zk1:2181/", `not "/"`},
		{"only slashes", "zk://zk1:2181///", `not "/"`},
		{"no servers", "zk:///mesos", "no servers"},
		{"empty server", "zk://zk1:2181,,zk2:2181/mesos", "empty server"},
		{"trailing comma", "zk://zk1:2181,/mesos", "empty server"},
		{"empty host", "zk://:2181/mesos", "empty host"},
		{"bad port", "zk://zk1:abc/mesos", "port must be a number"},
		{"port zero", "zk://zk1:0/mesos", "port must be a number"},
		{"port too big", "zk://zk1:70000/mesos", "port must be a number"},
		{"unbracketed ipv6", "zk://::1:2181/mesos", "brackets"},
		{"user without password", "zk://user@zk1:2181/mesos", "credentials must be user:password"},
		{"password without user", "zk://:secret@zk1:2181/mesos", "credentials must be user:password"},
		{"empty segment", "zk://zk1:2181/a//b", "empty segment"},
		{"dot dot", "zk://zk1:2181/a/../b", "relative segment"},
		{"query", "zk://zk1:2181/mesos?x=1", "query"},
		{"control character", "zk://zk1:2181/me\x01sos", "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			servers, path, err := detect.ParseURL(tc.url)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %q, %q, want error containing %q", tc.url, servers, path, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%q) error = %q, want it to contain %q", tc.url, err, tc.wantErr)
			}
		})
	}
}

func TestParseURLHidesPassword(t *testing.T) {
	const url = "zk://user:s3cret@zk1:abc/mesos"
	_, _, err := detect.ParseURL(url)
	if err == nil {
		t.Fatalf("ParseURL(%q) error = nil, want one", url)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParseURL(%q) error = %q, which shows the password", url, err)
	}
}
