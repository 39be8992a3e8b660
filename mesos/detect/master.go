package detect

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// defaultMasterPort is MasterInfo.port's default in mesos.proto.
const defaultMasterPort = 5050

// memberPrefix starts the name of every member znode a master of Mesos 0.24
// or later creates; the rest of the name is ZooKeeper's sequence number.
const memberPrefix = "json.info_"

// Master is a Mesos master as it announces itself in ZooKeeper.
type Master struct {
	// URL is the master's base URL, http://host:port, with no path.
	URL string
	// ID is MasterInfo.id, which changes every time a master starts.
	ID string
	// Hostname is MasterInfo.hostname, or address.hostname when that is
	// absent; it may be empty.
	Hostname string
	// Version is the Mesos version the master runs, such as "1.11.0"; it may
	// be empty.
	Version string
}

// masterInfo holds the fields of Mesos's MasterInfo that locate a master.
type masterInfo struct {
	ID       string `json:"id"`
	IP       uint32 `json:"ip"`
	Port     int64  `json:"port"`
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
	Address  *struct {
		Hostname string `json:"hostname"`
		IP       string `json:"ip"`
		Port     int64  `json:"port"`
	} `json:"address"`
}

// ParseMasterInfo parses a MasterInfo in JSON, the content of a json.info_
// znode, and builds the master's URL from it.
//
// The host is the first present of address.hostname, address.ip, hostname
// and the deprecated packed ip (an IPv4 address in network byte order read
// as a little-endian number, so 16777343 is 127.0.0.1). The port is
// address.port, else port, else 5050. It is an error if no host is present
// or the port is out of range.
func ParseMasterInfo(data []byte) (Master, error) {
	var info masterInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return Master{}, fmt.Errorf("parse master info: %w", err)
	}
	var host string
	port := info.Port
	if a := info.Address; a != nil {
		host = cmp.Or(a.Hostname, a.IP)
		if a.Port != 0 {
			port = a.Port
		}
	}
	if host == "" {
		host = info.Hostname
	}
	if host == "" && info.IP != 0 {
		ip := info.IP
		host = net.IPv4(byte(ip), byte(ip>>8), byte(ip>>16), byte(ip>>24)).String()
	}
	if host == "" {
		return Master{}, errors.New("parse master info: no hostname or ip")
	}
	if port == 0 {
		port = defaultMasterPort
	}
	if port < 0 || port > 65535 {
		return Master{}, fmt.Errorf("parse master info: port %d out of range", port)
	}
	m := Master{
		URL:      "http://" + net.JoinHostPort(host, strconv.FormatInt(port, 10)),
		ID:       info.ID,
		Hostname: info.Hostname,
		Version:  info.Version,
	}
	if m.Hostname == "" && info.Address != nil {
		m.Hostname = info.Address.Hostname
	}
	return m, nil
}

// member is a json.info_ child of the masters' group.
type member struct {
	name string
	seq  uint64
}

// members picks the json.info_<digits> names out of children and orders
// them by sequence number, lowest (the leader) first. Other names are not
// members of the election as far as this package is concerned. Sequence
// numbers are compared as numbers, because ZooKeeper's zero padding to ten
// digits stops working once a counter passes 9999999999; a negative number
// (a counter that wrapped past 2^31) is not a member either.
func members(children []string) []member {
	var ms []member
	for _, name := range children {
		digits, ok := strings.CutPrefix(name, memberPrefix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		seq, err := strconv.ParseUint(digits, 10, 64)
		if err != nil {
			continue
		}
		ms = append(ms, member{name: name, seq: seq})
	}
	slices.SortFunc(ms, func(a, b member) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.name, b.name))
	})
	return ms
}
