package mesos

// mesos.pb.go is generated from mesos.proto with protoc and the
// protoc-gen-go pinned in go.mod; regenerate with go generate ./mesos.
//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --go_out=. --go_opt=paths=source_relative mesos.proto"
