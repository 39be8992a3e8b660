package detect_test

import (
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/detect"
)

func TestParseMasterInfo(t *testing.T) {
	tests := []struct {
		name string
		info string
		want detect.Master
	}{
		{
			name: "as mesos writes it",
			info: `{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"capabilities":[{"type":"AGENT_UPDATE"}],` +
				`"hostname":"m1","id":"6b1e","ip":16777226,"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0"}`,
			want: detect.Master{URL: "http://m1:5050", ID: "6b1e", Hostname: "m1", Version: "1.11.0"},
		},
		{
			name: "address hostname wins over legacy fields",
			info: `{"address":{"hostname":"new","ip":"10.0.0.1","port":5051},"hostname":"old","ip":16777343,"port":5050}`,
			want: detect.Master{URL: "http://new:5051", Hostname: "old"},
		},
		{
			name: "address ip only",
			info: `{"id":"a","address":{"ip":"10.0.0.2","port":5051}}`,
			want: detect.Master{URL: "http://10.0.0.2:5051", ID: "a"},
		},
		{
			name: "address ipv6",
			info: `{"address":{"ip":"fe80::1","port":5050}}`,
			want: detect.Master{URL: "http://[fe80::1]:5050"},
		},
		{
			name: "address without port uses port",
			info: `{"address":{"hostname":"m3"},"port":5052}`,
			want: detect.Master{URL: "http://m3:5052", Hostname: "m3"},
		},
		{
			name: "legacy hostname and port",
			info: `{"id":"b","hostname":"m4.example","ip":16777226,"port":5053,"version":"0.28.2"}`,
			want: detect.Master{URL: "http://m4.example:5053", ID: "b", Hostname: "m4.example", Version: "0.28.2"},
		},
		{
			name: "packed ip only",
			info: `{"id":"c","ip":16777343,"port":5054}`,
			want: detect.Master{URL: "http://127.0.0.1:5054", ID: "c"},
		},
		{
			name: "packed ip, default port",
			info: `{"ip":16777226}`,
			want: detect.Master{URL: "http://10.0.0.1:5050"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detect.ParseMasterInfo([]byte(tc.info))
			if err != nil {
				t.Fatalf("ParseMasterInfo(%s) error = %v", tc.info, err)
			}
			if got != tc.want {
				t.Errorf("ParseMasterInfo(%s) = %+v, want %+v", tc.info, got, tc.want)
			}
		})
	}
}

func TestParseMasterInfoErrors(t *testing.T) {
	tests := []struct {
		name    string
		info    string
		wantErr string
	}{
		{"not json", `master@10.0.0.1:5050`, "invalid character"},
		{"empty", ``, "unexpected end"},
		{"null", `null`, "no hostname or ip"},
		{"no host", `{"id":"x","port":5050,"address":{"port":5050}}`, "no hostname or ip"},
		{"port out of range", `{"hostname":"m1","port":70000}`, "port 70000 out of range"},
		{"ip of wrong type", `{"ip":"10.0.0.1"}`, "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detect.ParseMasterInfo([]byte(tc.info))
			if err == nil {
				t.Fatalf("ParseMasterInfo(%s) = %+v, want error containing %q", tc.info, got, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMasterInfo(%s) error = %q, want it to contain %q", tc.info, err, tc.wantErr)
			}
		})
	}
}
