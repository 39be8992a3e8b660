package master

// master.pb.go is generated from master.proto (which imports ../mesos.proto)
// with protoc and the protoc-gen-go pinned in go.mod; regenerate with
// go generate ./mesos/master.
//go:generate sh -c "cd .. && protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --go_out=. --go_opt=paths=source_relative master/master.proto"
